import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import type { ComposeOptions, ComposeResult } from "@atomic-ci/compose";
import { changeSetIdOf, type ChangeSetMember } from "@atomic-ci/messages";
import { silentLogger } from "@atomic-ci/telemetry";
import { describe, expect, it } from "vitest";
import { Composer } from "./composer.js";
import { composerConfigSchema } from "./config.js";
import { scratchMembers, type ScratchMember, type ScratchOutcome } from "./scratch.js";

const members: ChangeSetMember[] = [{ kind: "operator-request", action: "compose", requested_by: "alice", source_message_id: "m-1", source_topic: "t" }];
const ID = changeSetIdOf(members);

function changeSet(branch = "f41", withMembers: ChangeSetMember[] = members): BusMessage {
  const body = { change_set_id: changeSetIdOf(withMembers), version: "1.0.0", generated_at: "2025-01-02T03:04:05Z", reason: "operator", members: withMembers, definition: { repo: "atomic/host-definition", branch } };
  return { id: "msg-1", topic: "org.atomic-ci.dev.pipeline.change-set.queued", body, headers: {} } as unknown as BusMessage;
}

function context(deliveryCount: number): HandlerContext & { changeSets: string[] } {
  const changeSets: string[] = [];
  return { log: silentLogger(), deliveryCount, setChangeSet: (id) => changeSets.push(id), changeSets };
}

function harness(result: ComposeResult, build?: ScratchOutcome) {
  const published: { topic: string; body: Record<string, unknown>; headers: unknown }[] = [];
  const calls: ComposeOptions[] = [];
  const builds: ScratchMember[][] = [];
  const composer = new Composer({
    bus: {
      publish: (topic, body, options) => {
        published.push({ topic, body: body as Record<string, unknown>, headers: options?.headers });
        return Promise.resolve({ id: "x", routingKey: topic, schema: "s" });
      },
    },
    settings: { definition: { repo: "/nonexistent/definition", branch: "f41", treefile: "host.yaml" }, workDir: "/tmp/atomic-ci-composer-unit", ostreeRepo: "/srv/repo", basearch: "x86_64", candidates: { id: "candidates" }, scratchBuilds: { distGit: "/srv/dist-git", repoId: "scratch", macros: {}, buildHost: "b.invalid", timeoutMs: 1000, maxOutputBytes: 1000 } },
    maxDeliveries: 3,
    tools: { env: {} },
    now: () => new Date("2025-01-02T03:04:05Z"),
    checkout: () => Promise.resolve("0".repeat(40)),
    compose: (options) => {
      calls.push(options);
      return Promise.resolve(result);
    },
    build: (list) => {
      builds.push([...list]);
      return Promise.resolve(list.length === 0 ? { type: "built", builds: [] } : (build ?? { type: "infrastructure-error", reason: "no build outcome given" }));
    },
  });
  return { composer, published, calls, builds, topics: () => published.map((p) => p.topic) };
}

const composed: ComposeResult = {
  type: "composed",
  ref: "fedora/41/x86_64/atomic-host",
  commit: "a".repeat(64),
  version: "41.1",
  timestamp: 1735787045,
  inputHash: "b".repeat(64),
  reused: true,
  packages: [],
  pkgdiff: { added: [], removed: [], changed: [] },
  lockfile: "{}",
  composeJson: "/srv/composes/x.json",
  imported: [],
  timings: {},
};

describe("Composer.handle", () => {
  it("announces, composes the checked-out treefile and publishes complete, all tagged with the change set", async () => {
    const h = harness(composed);
    const ctx = context(1);
    expect(await h.composer.handle(changeSet(), ctx)).toEqual({ type: "ack" });
    expect(h.topics()).toEqual(["pipeline.compose.queued", "pipeline.compose.running", "pipeline.compose.complete"]);
    expect(h.published.every((p) => JSON.stringify(p.headers) === JSON.stringify({ atomic_ci_change_set: ID }))).toBe(true);
    expect(h.published[2]?.body).toMatchObject({ commit: "a".repeat(64), reused: true, repo: { location: "/srv/repo" } });
    expect(ctx.changeSets).toEqual([ID]);
    expect(h.calls[0]?.treefile).toMatch(/\/definition\/host\.yaml$/);
    expect(h.calls[0]?.changeSetId).toBe(ID);
    expect(h.calls[0]?.candidates).toBeUndefined();
  });

  it("requeues an infrastructure error until the last delivery, then reports it", async () => {
    const h = harness({ type: "infrastructure-error", reason: "No space left on device" });
    expect(await h.composer.handle(changeSet(), context(2))).toEqual({ type: "requeue", reason: "infrastructure error: No space left on device" });
    expect(h.topics()).not.toContain("pipeline.compose.error");
    expect(await h.composer.handle(changeSet(), context(3))).toEqual({ type: "ack" });
    expect(h.published.at(-1)).toMatchObject({ topic: "pipeline.compose.error", body: { kind: "infrastructure-error", reason: "No space left on device" } });
  });

  it("acks a compose failure after reporting the missing dependency", async () => {
    const h = harness({ type: "compose-failure", reason: "nothing provides libndp >= 1.9", missingDependency: "libndp >= 1.9" });
    expect(await h.composer.handle(changeSet(), context(1))).toEqual({ type: "ack" });
    expect(h.published.at(-1)?.body).toMatchObject({ kind: "compose-failure", missing_dependency: "libndp >= 1.9" });
  });

  it("refuses a change set for another branch without composing", async () => {
    const h = harness(composed);
    await h.composer.handle(changeSet("rawhide"), context(1));
    expect(h.calls).toHaveLength(0);
    expect(h.published.at(-1)?.body).toMatchObject({ kind: "compose-failure", reason: expect.stringContaining("rawhide") as unknown });
  });
});

const src = { source_message_id: "m-2", source_topic: "org.fedoraproject.prod.git.receive" };
const REV = "1".repeat(40);
const specCommit: ChangeSetMember = { kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", branch: "f41", rev: REV, touches: ["spec", "tests"], ...src };
const scratchBuilt: ScratchOutcome = {
  type: "built",
  builds: [{ kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev: REV, nvr: "chrony-4.6.1-2.fc41", rpms: ["chrony-4.6.1-2.fc41.x86_64"] }],
  set: { repo: { id: "scratch", url: "file:///srv/atomic-ci/scratch/repo" }, nevras: ["chrony-4.6.1-2.fc41.x86_64"], preferred: true },
};

describe("scratch builds of spec changes", () => {
  it("builds a commit touching the spec, composes with its repository and names the build in complete", async () => {
    const h = harness(composed, scratchBuilt);
    expect(await h.composer.handle(changeSet("f41", [specCommit]), context(1))).toEqual({ type: "ack" });
    expect(h.builds).toEqual([[{ kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev: REV }]]);
    expect(h.calls[0]?.candidates).toEqual(scratchBuilt.set);
    expect(h.published.at(-1)?.body).toMatchObject({ scratch_builds: [{ kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev: REV, nvr: "chrony-4.6.1-2.fc41", rpms: ["chrony-4.6.1-2.fc41.x86_64"] }] });
  });

  it("a spec that does not build is a compose failure saying build-failure, acked at once and never composed", async () => {
    const h = harness(composed, { type: "build-failure", reason: "build-failure: rpms/chrony at 111111111111: rpmbuild exited with 1\n--- build log ---\nboom", member: { kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev: REV } });
    expect(await h.composer.handle(changeSet("f41", [specCommit]), context(1))).toEqual({ type: "ack" });
    expect(h.calls).toHaveLength(0);
    expect(h.topics().at(-1)).toBe("pipeline.compose.error");
    expect(h.published.at(-1)?.body).toMatchObject({ kind: "compose-failure", failure: "build-failure", build: { package: "chrony", rev: REV }, reason: expect.stringContaining("boom") as unknown });
  });

  it("a dist-git repository that cannot be fetched is an infrastructure error: requeued", async () => {
    const h = harness(composed, { type: "infrastructure-error", reason: "cannot fetch rpms/chrony" });
    expect(await h.composer.handle(changeSet("f41", [specCommit]), context(1))).toEqual({ type: "requeue", reason: "infrastructure error: cannot fetch rpms/chrony" });
    expect(h.calls).toHaveLength(0);
  });

  it("a tests-only commit builds nothing and composes as before", async () => {
    const h = harness(composed);
    await h.composer.handle(changeSet("f41", [{ ...specCommit, touches: ["tests"] }]), context(1));
    expect(h.builds).toEqual([[]]);
    expect(h.calls[0]?.candidates).toBeUndefined();
    expect(h.published.at(-1)?.body).not.toHaveProperty("scratch_builds");
  });
});

describe("scratchMembers", () => {
  it("takes spec commits and package pull requests, once each, but not a package the change set has a Koji build of", () => {
    const pr: ChangeSetMember = { kind: "pull-request", package: "ostree", repo: "rpms/ostree", branch: "f41", pr_url: "https://src.example/rpms/ostree/pull-request/7", rev: "2".repeat(40), ...src };
    const definitionPr: ChangeSetMember = { kind: "pull-request", repo: "fedora-atomic", branch: "f41", pr_url: "https://src.example/fedora-atomic/pull-request/1", rev: "3".repeat(40), ...src };
    const podman: ChangeSetMember = { ...specCommit, package: "podman", repo: "rpms/podman", rev: "4".repeat(40) };
    const kojiPodman: ChangeSetMember = { kind: "build", package: "podman", nvr: "podman-5.3.0-1.fc41", ...src };
    expect(scratchMembers([specCommit, specCommit, pr, definitionPr, podman, kojiPodman, { ...specCommit, package: "bash", repo: "rpms/bash", touches: ["gating"] }])).toEqual([
      { kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev: REV },
      { kind: "pull-request", package: "ostree", repo: "rpms/ostree", rev: "2".repeat(40), prUrl: "https://src.example/rpms/ostree/pull-request/7" },
    ]);
  });
});

describe("the scratchBuilds config", () => {
  it("has its defaults in the schema, and refuses a repository id the candidates already use", () => {
    const base = { service: "composer" };
    const parsed = composerConfigSchema.parse(base);
    expect(parsed.composer.scratchBuilds).toEqual({ repoId: "scratch", macros: { dist: ".fc41" }, buildHost: "scratch.atomic-ci.invalid", timeoutMs: 1_800_000, maxOutputBytes: 16 * 1024 * 1024 });
    const clash = composerConfigSchema.safeParse({ ...base, composer: { scratchBuilds: { repoId: "candidates" } } });
    expect(clash.success).toBe(false);
    expect(clash.error?.issues[0]?.path).toEqual(["composer", "scratchBuilds", "repoId"]);
  });
});
