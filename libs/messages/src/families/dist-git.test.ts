import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { clone, fixture } from "../fixtures.test-helper.js";
import { GitReceive, GitReceiveMessage, normalizeGitReceive } from "./dist-git.js";

const fedmsgBody = fixture("git.receive.json").body;

/** The 2017 push as today's hook would send it. */
function hookBody(): Record<string, unknown> {
  const body = clone(fedmsgBody) as { commit: Record<string, unknown> };
  const { agent, seen: _seen, ...commit } = body.commit;
  return {
    agent,
    commit: {
      ...commit,
      date: "2017-04-28T13:29:43+02:00",
      patch: "diff --git a/sources b/sources\n",
      url: "https://src.fedoraproject.org/rpms/php-simplepie/c/81e09b9c83e8550b54a64c7bdb4e5d7b534df058",
    },
  };
}

describe("git.receive", () => {
  it("accepts and normalises the 2017 fedmsg form", () => {
    const push = normalizeGitReceive(GitReceive.parse(fedmsgBody));
    expect(push).toEqual({
      repo: "php-simplepie",
      namespace: "rpms",
      branch: "f24",
      rev: "81e09b9c83e8550b54a64c7bdb4e5d7b534df058",
      agent: "trasher",
      username: "trasher",
      summary: "Last upstream release",
      message: "Last upstream release\n",
      files: [".gitignore", "php-simplepie.spec", "sources"],
    });
  });

  it("accepts and normalises today's hook form", () => {
    const body = hookBody();
    body.agent = "releng-bot";
    const push = normalizeGitReceive(GitReceive.parse(body));
    expect(push.agent).toBe("releng-bot");
    expect(push.username).toBe("trasher");
    expect(push.date).toBe("2017-04-28T13:29:43+02:00");
    expect(push.url).toBe("https://src.fedoraproject.org/rpms/php-simplepie/c/81e09b9c83e8550b54a64c7bdb4e5d7b534df058");
    expect(push.files).toEqual([".gitignore", "php-simplepie.spec", "sources"]);
  });

  it("reports what the hook form misses when a body has top-level agent", () => {
    const body = hookBody() as { commit: Record<string, unknown> };
    delete body.commit.patch;
    const result = validateBody(GitReceiveMessage, body);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["commit.patch"]);
  });

  it("reports a missing commit field of the fedmsg form", () => {
    const body = clone(fedmsgBody) as { commit: Record<string, unknown> };
    delete body.commit.rev;
    const result = validateBody(GitReceiveMessage, body);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["commit.rev"]);
  });

  it("derives users, artifacts by namespace and summary like CommitV1", () => {
    const rpm = GitReceive.parse(hookBody());
    expect(GitReceiveMessage.usernames?.(rpm)).toEqual(["trasher"]);
    expect(GitReceiveMessage.packages?.(rpm)).toEqual(["php-simplepie"]);
    expect(GitReceiveMessage.containers?.(rpm)).toEqual([]);
    expect(GitReceiveMessage.summary?.(rpm)).toBe('trasher pushed to rpms/php-simplepie (f24). "Last upstream release"');
    const container = GitReceive.parse({ ...rpm, commit: { ...rpm.commit, namespace: "container" } });
    expect(GitReceiveMessage.packages?.(container)).toEqual([]);
    expect(GitReceiveMessage.containers?.(container)).toEqual(["php-simplepie"]);
    const bare = GitReceive.parse({ ...rpm, commit: { ...rpm.commit, namespace: null } });
    expect(GitReceiveMessage.summary?.(bare)).toBe('trasher pushed to php-simplepie (f24). "Last upstream release"');
  });
});
