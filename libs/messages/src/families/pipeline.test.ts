import { describe, expect, it } from "vitest";
import { schemaHeaders } from "../headers.js";
import { defaultRegistry } from "../registry.js";
import { validateBody } from "../validate.js";
import {
  ChangeSetIgnoredMessage,
  ChangeSetQueuedMessage,
  OperatorRequestMessage,
  type ChangeSetQueued,
} from "./pipeline-change-set.js";
import { ComposeCompleteMessage, ComposeErrorMessage, composeTopic, type ComposeComplete } from "./pipeline-compose.js";
import { changeSetIdOf, memberIdentity, type ChangeSetMember } from "./pipeline-parts.js";

const REV = "0123456789abcdef0123456789abcdef01234567";
const SHA = "a".repeat(64);

const build = (nvr: string, id = "m-1"): ChangeSetMember => ({
  kind: "build",
  package: nvr.split("-").slice(0, -2).join("-"),
  nvr,
  build_id: 42,
  source_message_id: id,
  source_topic: "org.fedoraproject.prod.buildsys.build.state.change",
});

function queued(members: ChangeSetMember[]): ChangeSetQueued {
  return {
    change_set_id: changeSetIdOf(members),
    version: "1.0.0",
    generated_at: "2025-01-02T03:04:05Z",
    reason: "koji-build",
    members,
    definition: { repo: "atomic/host-definition", branch: "f41" },
  };
}

describe("change set ids", () => {
  it("depend on member identity only, not on order or the message that brought a member", () => {
    const a = build("bash-5.2-1.fc41", "first");
    const b = build("glibc-2.40-1.fc41", "second");
    const id = changeSetIdOf([a, b]);
    expect(id).toMatch(/^cs-[0-9a-f]{16}$/);
    expect(changeSetIdOf([b, { ...a, source_message_id: "resent" }])).toBe(id);
    expect(changeSetIdOf([a])).not.toBe(id);
  });

  it("name a pull request by URL and head, so a new push to it is a new change", () => {
    const pr: ChangeSetMember = {
      kind: "pull-request",
      package: "bash",
      repo: "rpms/bash",
      branch: "f41",
      pr_url: "https://src.fedoraproject.org/rpms/bash/pull-request/7",
      rev: REV,
      source_message_id: "x",
      source_topic: "t",
    };
    expect(memberIdentity(pr)).toBe(`pr:https://src.fedoraproject.org/rpms/bash/pull-request/7@${REV}`);
    expect(memberIdentity({ ...pr, rev: "f".repeat(40) })).not.toBe(memberIdentity(pr));
  });
});

describe("pipeline.change-set.queued", () => {
  it("validates, and derives rpm headers from the member packages", () => {
    const body = queued([build("glibc-2.40-1.fc41"), build("bash-5.2-1.fc41")]);
    expect(validateBody(ChangeSetQueuedMessage, body).ok).toBe(true);
    expect(schemaHeaders(ChangeSetQueuedMessage, body)).toEqual({
      fedora_messaging_schema: "atomic_ci.pipeline.ChangeSetQueuedV1",
      fedora_messaging_severity: 20,
      fedora_messaging_rpm_bash: true,
      fedora_messaging_rpm_glibc: true,
    });
  });

  it("rejects an empty change set, a bad id and a short commit id", () => {
    const body = queued([build("bash-5.2-1.fc41")]);
    const result = validateBody(ChangeSetQueuedMessage, { ...body, change_set_id: "cs-XYZ", members: [] });
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["change_set_id", "members"]);
    const commit = { kind: "definition-commit", repo: "atomic/host-definition", branch: "f41", rev: "abc123", source_message_id: "m", source_topic: "t" };
    const bad = validateBody(ChangeSetQueuedMessage, { ...body, members: [commit] });
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toEqual(["members.0.rev"]);
  });

  it("is what the registry resolves for the prefixed routing key", () => {
    expect(defaultRegistry.forTopic("org.atomic-ci.dev.pipeline.change-set.queued")?.name).toBe("atomic_ci.pipeline.ChangeSetQueuedV1");
    expect(defaultRegistry.forTopic(`org.atomic-ci.dev.${composeTopic("error")}`)?.name).toBe("atomic_ci.pipeline.ComposeErrorV1");
  });
});

describe("pipeline.change-set.ignored", () => {
  it("is DEBUG and names the package", () => {
    const body = {
      version: "1.0.0",
      generated_at: "2025-01-02T03:04:05+00:00",
      source_message_id: "m",
      source_topic: "org.fedoraproject.prod.buildsys.tag",
      reason_code: "not-in-host",
      reason: "python-specfile is not a package of the host",
      package: "python-specfile",
    };
    expect(validateBody(ChangeSetIgnoredMessage, body).ok).toBe(true);
    expect(schemaHeaders(ChangeSetIgnoredMessage, body)).toMatchObject({ fedora_messaging_severity: 10, "fedora_messaging_rpm_python-specfile": true });
  });
});

describe("pipeline.operator.request", () => {
  const base = { version: "1.0.0", generated_at: "2025-01-02T03:04:05Z", requested_by: "alice", reason: "https://pagure.io/x/1" };

  it("needs the change set to re-run", () => {
    expect(validateBody(OperatorRequestMessage, { ...base, action: "rerun", change_set_id: "cs-0123456789abcdef" }).ok).toBe(true);
    const missing = validateBody(OperatorRequestMessage, { ...base, action: "rerun" });
    expect(missing.ok ? [] : missing.issues.map((i) => i.path)).toEqual(["change_set_id"]);
    expect(schemaHeaders(OperatorRequestMessage, { ...base, action: "compose", packages: ["bash"] })).toMatchObject({
      fedora_messaging_user_alice: true,
      fedora_messaging_rpm_bash: true,
    });
  });
});

describe("pipeline.compose.*", () => {
  const complete: ComposeComplete = {
    change_set_id: "cs-0123456789abcdef",
    compose_id: "atomic-host-41-20250102.ci.0",
    version: "1.0.0",
    generated_at: "2025-01-02T03:04:05Z",
    ref: "fedora/41/x86_64/atomic-host",
    commit: SHA,
    parent: null,
    os_version: "41.20250102.0",
    input_hash: "b".repeat(64),
    repo: { location: "repo/archive" },
    lockfile: { location: "composes/x/manifest-lock.x86_64.json", sha256: "c".repeat(64) },
    pkgdiff: {
      added: ["python3-foo-1:1.0-1.fc41.noarch"],
      removed: [],
      upgraded: [{ from: "bash-5.2-1.fc41.x86_64", to: "bash-5.2-2.fc41.x86_64" }],
      downgraded: [],
    },
    reused: false,
    timestamp: "2025-01-02T03:04:05Z",
  };

  it("complete validates and announces the changed packages", () => {
    expect(validateBody(ComposeCompleteMessage, complete).ok).toBe(true);
    expect(Object.keys(schemaHeaders(ComposeCompleteMessage, complete)).filter((h) => h.includes("_rpm_"))).toEqual([
      "fedora_messaging_rpm_bash",
      "fedora_messaging_rpm_python3-foo",
    ]);
  });

  it("complete wants NEVRAs and a lockfile digest", () => {
    const bad = validateBody(ComposeCompleteMessage, {
      ...complete,
      pkgdiff: { ...complete.pkgdiff, added: ["python3-foo"] },
      lockfile: { location: "x" },
    });
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toEqual(["lockfile.sha256", "pkgdiff.added.0"]);
  });

  it("error tells a compose failure from an infrastructure error, at ERROR severity", () => {
    const error = { ...complete, kind: "compose-failure", reason: "nothing provides libfoo.so.2", missing_dependency: "libfoo.so.2" };
    expect(validateBody(ComposeErrorMessage, error).ok).toBe(true);
    expect(validateBody(ComposeErrorMessage, { ...error, kind: "oops" }).ok).toBe(false);
    expect(ComposeErrorMessage.severity).toBe(40);
  });

  it("names scratch-built packages, and checks what a scratch build and a build failure say", () => {
    const build = { kind: "pull-request" as const, package: "chrony", repo: "rpms/chrony", rev: "d".repeat(40), pr_url: "https://src.fedoraproject.org/rpms/chrony/pull-request/3", nvr: "chrony-4.6.1-1.fc41", rpms: ["chrony-4.6.1-1.fc41.x86_64"] };
    const withBuild = { ...complete, pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] }, scratch_builds: [build] };
    expect(validateBody(ComposeCompleteMessage, withBuild).ok).toBe(true);
    expect(Object.keys(schemaHeaders(ComposeCompleteMessage, withBuild)).filter((h) => h.includes("_rpm_"))).toEqual(["fedora_messaging_rpm_chrony"]);
    const bad = validateBody(ComposeCompleteMessage, { ...withBuild, scratch_builds: [{ ...build, rev: "main", kind: "build" }] });
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toEqual(["scratch_builds.0.kind", "scratch_builds.0.rev"]);

    const failed = { ...complete, kind: "compose-failure", reason: "error: Bad exit status from %build", failure: "build-failure", build: { kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev: "e".repeat(40) } };
    expect(validateBody(ComposeErrorMessage, failed).ok).toBe(true);
    expect(validateBody(ComposeErrorMessage, { ...failed, failure: "segfault" }).ok).toBe(false);
  });
});

describe("culprit finding messages", () => {
  it("accept a bisect change set naming its parent, and a culprits report", async () => {
    const { CulpritsFoundMessage } = await import("./pipeline-culprits.js");
    const members = [build("libfoo-2.0-1.fc41"), build("foo-cli-2.0-1.fc41")];
    const parent = changeSetIdOf([...members, build("ostree-2024.9-1.fc41")]);
    const subset = { ...queued(members), reason: "bisect", parent_change_set_id: parent };
    expect(validateBody(ChangeSetQueuedMessage, subset).ok).toBe(true);
    expect(validateBody(ChangeSetQueuedMessage, { ...subset, parent_change_set_id: "nope" }).ok).toBe(false);
    const report = {
      change_set_id: parent,
      version: "1.0.0",
      generated_at: "2025-01-02T03:04:05Z",
      culprits: [{ kind: "combination", members: ["build:foo-cli-2.0-1.fc41", "build:libfoo-2.0-1.fc41"], rejected: ["build:libfoo-2.0-1.fc41"], failing_tests: ["fedora-ci.koji-build.tier0.functional"], change_set_id: subset.change_set_id }],
      accepted: ["build:foo-cli-2.0-1.fc41", "build:ostree-2024.9-1.fc41"],
      composes_tried: 4,
    };
    expect(validateBody(CulpritsFoundMessage, report).ok).toBe(true);
    expect(validateBody(CulpritsFoundMessage, { ...report, culprits: [{ ...report.culprits[0], kind: "pair" }] }).ok).toBe(false);
    expect(defaultRegistry.forTopic("org.atomic-ci.dev.pipeline.culprits.found")).toBe(CulpritsFoundMessage);
    expect(CulpritsFoundMessage.packages?.(CulpritsFoundMessage.body.parse(report))).toEqual(["foo-cli", "libfoo"]);
  });
});
