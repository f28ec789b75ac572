import type { ChangeSetQueued } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import { fixtureInput } from "../fixtures.test-helper.js";
import { batchDueAt, step, tick } from "./step.js";
import { emptyState, type StepResult, type TriggerInput, type TriggerRules, type TriggerState } from "./types.js";

const RULES: TriggerRules = { candidateTag: "f41-updates-candidate", branch: "f41", definitionRepo: "atomic/host-definition", batchWindowMs: 0, retentionMs: 3_600_000 };
const T0 = Date.parse("2025-01-01T00:00:00Z");
const REV_A = "a".repeat(40);
const REV_B = "b".repeat(40);

function ports(host: string[], at = T0) {
  return { hostPackages: () => new Set(host), now: () => new Date(at) };
}

/** Feed messages in order through the core, as the service does. */
function feed(inputs: TriggerInput[], opts: { host: string[]; rules?: Partial<TriggerRules>; state?: TriggerState; at?: number }): StepResult {
  let state = opts.state ?? emptyState();
  const outputs: StepResult["outputs"] = [];
  for (const input of inputs) {
    const result = step(state, input, { ...RULES, ...opts.rules }, ports(opts.host, opts.at));
    state = result.state;
    outputs.push(...result.outputs);
  }
  return { state, outputs };
}

const queued = (r: StepResult): ChangeSetQueued[] => r.outputs.flatMap((o) => (o.type === "queued" ? [o.body] : []));
const ignoredCodes = (r: StepResult): string[] => r.outputs.flatMap((o) => (o.type === "ignored" ? [o.body.reason_code] : []));

const complete = (id = "msg-koji") => fixtureInput("buildsys.build.state.change.json", (b) => (b["new"] = 1), id);

function push(repo: string, rev: string, opts: { branch?: string; files?: string[]; message?: string; namespace?: string } = {}): TriggerInput {
  return fixtureInput("git.receive.json", (b) => {
    const commit = b["commit"] as Record<string, unknown>;
    Object.assign(commit, {
      repo,
      rev,
      namespace: opts.namespace ?? "rpms",
      branch: opts.branch ?? "f41",
      message: opts.message ?? "update\n",
      path: `/srv/git/repositories/${opts.namespace ?? "rpms"}/${repo}.git`,
      stats: { files: Object.fromEntries((opts.files ?? [`${repo}.spec`]).map((f) => [f, { lines: 1 }])), total: {} },
    });
  }, `push-${repo}-${rev.slice(0, 4)}`);
}

describe("koji builds", () => {
  it("a COMPLETE build of a host package is a one-member change set with a stable id", () => {
    const r = feed([complete()], { host: ["prusa-slicer"] });
    const [cs] = queued(r);
    expect(cs?.reason).toBe("koji-build");
    expect(cs?.members).toEqual([
      { kind: "build", package: "prusa-slicer", nvr: "prusa-slicer-2.9.4-1.fc44", build_id: 2860061, source_message_id: "msg-koji", source_topic: "org.fedoraproject.prod.buildsys.build.state.change" },
    ]);
    expect(cs?.change_set_id).toMatch(/^cs-[0-9a-f]{16}$/);
    expect(cs?.definition).toEqual({ repo: "atomic/host-definition", branch: "f41" });
  });

  it("ignores builds that are not COMPLETE, and packages not in the host", () => {
    expect(ignoredCodes(feed([fixtureInput("buildsys.build.state.change.json")], { host: ["prusa-slicer"] }))).toEqual(["not-complete"]);
    const r = feed([complete()], { host: ["bash"] });
    expect(r.outputs).toEqual([
      { type: "ignored", body: expect.objectContaining({ reason_code: "not-in-host", package: "prusa-slicer", nvr: "prusa-slicer-2.9.4-1.fc44", source_message_id: "msg-koji" }) as unknown },
    ]);
  });

  it("the same build re-sent under a new message id, or then tagged, is a duplicate of the first change set", () => {
    const tagged = fixtureInput("buildsys.tag.json", (b) => Object.assign(b, { name: "prusa-slicer", version: "2.9.4", release: "1.fc44", tag: "f41-updates-candidate" }));
    const r = feed([complete("first"), complete("second"), tagged], { host: ["prusa-slicer"] });
    const [cs] = queued(r);
    expect(queued(r)).toHaveLength(1);
    expect(r.outputs.slice(1).map((o) => (o.type === "ignored" ? [o.body.reason_code, o.body.change_set_id] : o.type))).toEqual([
      ["duplicate", cs?.change_set_id],
      ["duplicate", cs?.change_set_id],
    ]);
  });

  it("forgets change sets after the retention, and then the same build yields the same id again", () => {
    const first = feed([complete()], { host: ["prusa-slicer"] });
    const later = feed([complete("again")], { host: ["prusa-slicer"], state: first.state, at: T0 + RULES.retentionMs });
    expect(queued(later)[0]?.change_set_id).toBe(queued(first)[0]?.change_set_id);
    expect(Object.keys(later.state.queued)).toHaveLength(1);
  });

  it("takes tags into the candidate tag only", () => {
    expect(ignoredCodes(feed([fixtureInput("buildsys.tag.json")], { host: ["python-specfile"] }))).toEqual(["other-tag"]);
    const tag = fixtureInput("buildsys.tag.json", (b) => (b["tag"] = "f41-updates-candidate"));
    expect(queued(feed([tag], { host: ["python-specfile"] }))[0]?.members[0]).toMatchObject({ nvr: "python-specfile-0.31.0-1.fc40", build_id: 1234567 });
    expect(queued(feed([tag], { host: ["python-specfile"] }))[0]?.reason).toBe("koji-tag");
  });
});

describe("dist-git pushes", () => {
  it("the real 2017 push touching the spec of a host package is a package change", () => {
    const r = feed([fixtureInput("git.receive.json")], { host: ["php-simplepie"], rules: { branch: "f24" } });
    expect(queued(r)[0]?.members).toEqual([
      expect.objectContaining({ kind: "dist-git-commit", package: "php-simplepie", repo: "rpms/php-simplepie", branch: "f24", rev: "81e09b9c83e8550b54a64c7bdb4e5d7b534df058", touches: ["spec"] }),
    ]);
  });

  it("tests/, *.fmf and gating.yaml are test changes", () => {
    const r = feed([push("bash", REV_A, { files: ["tests/smoke/runtest.sh", "plans/ci.fmf", "gating.yaml"] })], { host: ["bash"] });
    expect(queued(r)[0]?.members[0]).toMatchObject({ touches: ["gating", "tests"] });
  });

  it.each([
    ["no-relevant-files", push("bash", REV_A, { files: ["sources", ".gitignore"] })],
    ["other-branch", push("bash", REV_A, { branch: "rawhide" })],
    ["fork", push("bash", REV_A, { namespace: "forks/alice/rpms" })],
    ["not-in-host", push("zsh", REV_A)],
    ["other-repo", push("fedora-atomic", REV_A, { namespace: "container" })],
  ])("ignores a push: %s", (code, input) => {
    expect(ignoredCodes(feed([input], { host: ["bash"] }))).toEqual([code]);
  });

  it("a push to the definition repo on the branch is a definition change, whatever files it touches", () => {
    const r = feed([push("host-definition", REV_A, { namespace: "atomic", files: ["manifest-lock.x86_64.json"] })], { host: [] });
    const [cs] = queued(r);
    expect(cs?.reason).toBe("definition");
    expect(cs?.definition).toEqual({ repo: "atomic/host-definition", branch: "f41", rev: REV_A });
  });

  /** A push to a repository without a namespace (the git hook sends `namespace: null`). */
  const bare = (repo: string, rev: string, branch = "f41") =>
    fixtureInput("git.receive.json", (b) => Object.assign(b["commit"] as object, { repo, rev, namespace: null, branch, path: `/srv/git/${repo}.git`, stats: { files: { "fedora-atomic-host.yaml": { lines: 1 } }, total: {} } }), `bare-${repo}`);

  it("a definition repo without a namespace: its pushes on the branch are definition changes; a package of that name or another branch is not", () => {
    const rules = { definitionRepo: "fedora-atomic" };
    const [cs] = queued(feed([bare("fedora-atomic", REV_A)], { host: ["fedora-atomic"], rules }));
    expect(cs?.reason).toBe("definition");
    expect(cs?.members).toMatchObject([{ kind: "definition-commit", repo: "fedora-atomic", branch: "f41", rev: REV_A }]);
    expect(cs?.definition).toEqual({ repo: "fedora-atomic", branch: "f41", rev: REV_A });
    expect(ignoredCodes(feed([bare("fedora-atomic", REV_A, "f40")], { host: [], rules }))).toEqual(["other-branch"]);
    // rpms/fedora-atomic is a package's dist-git, not the definition (and not a host package here).
    expect(ignoredCodes(feed([push("fedora-atomic", REV_A)], { host: [], rules }))).toEqual(["not-in-host"]);
    // With the default namespaced name, the bare repository is some other repository.
    expect(ignoredCodes(feed([bare("host-definition", REV_A)], { host: [] }))).toEqual(["other-repo"]);
  });
});

describe("Depends-On", () => {
  const dependsOnB = `update\n\nDepends-On: https://src.fedoraproject.org/rpms/glibc/c/${REV_B}\n`;

  it("a change waits for the change it depends on, then both go in one change set", () => {
    const a = feed([push("bash", REV_A, { message: dependsOnB })], { host: ["bash", "glibc"] });
    expect(a.outputs).toEqual([{ type: "held", why: "waiting-for-depends-on", members: [`commit:rpms/bash@${REV_A}`], missing: [`commit:rpms/glibc@${REV_B}`] }]);
    const b = feed([push("glibc", REV_B)], { host: ["bash", "glibc"], state: a.state });
    expect(queued(b).map((cs) => cs.members.map((m) => m.kind === "dist-git-commit" && m.package))).toEqual([["bash", "glibc"]]);
    expect(b.state.waiting).toEqual([]);
  });

  it("a change whose dependency already went out carries it again", () => {
    const r = feed([push("glibc", REV_B), push("bash", REV_A, { message: dependsOnB })], { host: ["bash", "glibc"] });
    expect(queued(r).map((cs) => cs.members.length)).toEqual([1, 2]);
  });

  it("a dependency that never arrives lets the change go alone after the retention", () => {
    const a = feed([push("bash", REV_A, { message: dependsOnB })], { host: ["bash", "glibc"] });
    expect(queued({ ...tick(a.state, RULES, ports([], T0 + 1000)) })).toEqual([]);
    expect(queued(tick(a.state, RULES, ports([], T0 + RULES.retentionMs)))[0]?.members).toHaveLength(1);
  });
});

describe("bodhi updates", () => {
  it("the builds of a ready-for-testing update that are in the host travel together", () => {
    const update = fixtureInput("bodhi.update.status.testing.koji-build-group.build.complete.json", (b) => {
      const artifact = b["artifact"] as { builds: Record<string, unknown>[] };
      artifact.builds.push({ ...artifact.builds[0], component: "binutils", nvr: "binutils-2.40-9.fc39", id: 2196430 }, { ...artifact.builds[0], component: "gdb", nvr: "gdb-13.1-4.fc39", id: 2196431 });
    });
    const r = feed([update], { host: ["annobin", "binutils"], rules: { branch: "f39" } });
    expect(queued(r)).toHaveLength(1);
    expect(queued(r)[0]?.reason).toBe("bodhi-update");
    expect(queued(r)[0]?.members.map((m) => m.kind === "build" && [m.nvr, m.build_id])).toEqual([
      ["annobin-12.10-2.fc39", 2196428],
      ["binutils-2.40-9.fc39", 2196430],
    ]);
    expect(ignoredCodes(feed([update], { host: ["bash"], rules: { branch: "f39" } }))).toEqual(["not-in-host"]);
    expect(ignoredCodes(feed([update], { host: ["annobin"] }))).toEqual(["other-branch"]);
  });

  it("request.testing: both builds of the real update in one change set", () => {
    const r = feed([fixtureInput("bodhi.update.request.testing.json")], { host: ["gnome-settings-daemon", "control-center"], rules: { branch: "f18" } });
    expect(queued(r)[0]?.members.map((m) => m.kind === "build" && m.package)).toEqual(["control-center", "gnome-settings-daemon"]);
  });

  it("an update batched with other changes stays one unit (for culprit finding); single changes are no units", () => {
    const update = fixtureInput("bodhi.update.request.testing.json");
    const tag = fixtureInput("buildsys.tag.json", (b) => Object.assign(b, { name: "bash", tag: "f18-updates-candidate" }), "tag-bash");
    const rules = { branch: "f18", candidateTag: "f18-updates-candidate", batchWindowMs: 60_000 };
    const r = feed([update, tag], { host: ["gnome-settings-daemon", "control-center", "bash"], rules });
    const closed = tick(r.state, { ...RULES, ...rules }, ports([], T0 + 60_000));
    const [cs] = queued(closed);
    expect(cs?.reason).toBe("batch");
    expect(cs?.members).toHaveLength(3);
    expect(cs?.units).toEqual([cs?.members.filter((m) => m.kind === "build" && m.package !== "bash").map((m) => (m.kind === "build" ? `build:${m.nvr}` : "")).sort()]);
    expect(queued(feed([tag], { host: ["bash"], rules: { ...rules, batchWindowMs: 0 } }))[0]?.units).toBeUndefined();
  });
});

describe("pull requests", () => {
  it("a PR on a host package's branch is a proposed change at its head commit", () => {
    const r = feed([fixtureInput("pagure.pull-request.new.json")], { host: ["optee_os"], rules: { branch: "rawhide" } });
    expect(queued(r)[0]?.members[0]).toMatchObject({ kind: "pull-request", package: "optee_os", repo: "rpms/optee_os", pr_url: "https://src.fedoraproject.org/rpms/optee_os/pull-request/2", rev: "889f07af35d27bbcaf9c535c17a63b974aa42ee3" });
    expect(ignoredCodes(feed([fixtureInput("pagure.pull-request.new.json")], { host: ["optee_os"] }))).toEqual(["other-branch"]);
  });
});

describe("batching window", () => {
  const rules = { batchWindowMs: 60_000 };
  const tagged = (name: string) => fixtureInput("buildsys.tag.json", (b) => Object.assign(b, { name, tag: "f41-updates-candidate" }), `tag-${name}`);

  it("merges unrelated changes that arrive within the window into one change set when it closes", () => {
    const r = feed([tagged("bash"), tagged("glibc")], { host: ["bash", "glibc"], rules });
    expect(queued(r)).toEqual([]);
    expect(batchDueAt(r.state, { ...RULES, ...rules })).toBe(T0 + 60_000);
    expect(queued(tick(r.state, { ...RULES, ...rules }, ports([], T0 + 59_999)))).toEqual([]);
    const closed = tick(r.state, { ...RULES, ...rules }, ports([], T0 + 60_000));
    expect(queued(closed).map((cs) => [cs.reason, cs.members.map((m) => m.kind === "build" && m.package)])).toEqual([["batch", ["bash", "glibc"]]]);
    expect(closed.state.batch).toBeNull();
  });

  it("a change already waiting in the window is a duplicate", () => {
    expect(ignoredCodes(feed([tagged("bash"), tagged("bash")], { host: ["bash"], rules }))).toEqual(["duplicate"]);
  });
});

describe("operator requests", () => {
  const request = (body: Record<string, unknown>, id = "op-1"): TriggerInput => ({
    id,
    topic: "org.atomic-ci.dev.pipeline.operator.request",
    schema: "atomic_ci.pipeline.OperatorRequestV1",
    body: { version: "1.0.0", generated_at: "2025-01-01T00:00:00Z", requested_by: "alice", reason: "test", ...body },
  });

  it("compose now skips the batching window", () => {
    const r = feed([request({ action: "compose" })], { host: [], rules: { batchWindowMs: 60_000 } });
    expect(queued(r)[0]).toMatchObject({ reason: "operator", requested_by: "alice", members: [{ kind: "operator-request", action: "compose" }] });
  });

  it("re-runs a known change set with a new id, and refuses an unknown one", () => {
    const first = feed([complete()], { host: ["prusa-slicer"] });
    const original = queued(first)[0]?.change_set_id ?? "";
    const rerun = feed([request({ action: "rerun", change_set_id: original })], { host: ["prusa-slicer"], state: first.state });
    const [cs] = queued(rerun);
    expect(cs?.rerun_of).toBe(original);
    expect(cs?.change_set_id).not.toBe(original);
    expect(cs?.members.map((m) => m.kind)).toEqual(["build", "operator-request"]);
    expect(ignoredCodes(feed([request({ action: "rerun", change_set_id: "cs-0000000000000000" })], { host: [] }))).toEqual(["unknown-change-set"]);
  });
});

it("ignores messages that are no trigger (a pungi compose, a bodhi comment)", () => {
  expect(ignoredCodes(feed([fixtureInput("pungi.compose.status.change.json"), fixtureInput("bodhi.update.comment.json")], { host: [] }))).toEqual(["not-a-candidate", "not-a-candidate"]);
});
