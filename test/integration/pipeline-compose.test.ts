// trigger-listener + composer on the in-memory bus, against the fixture world: a Koji build
// becomes a change set, the change set a real OSTree commit (or a compose failure).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureWorld, findBuild, gitReceive, kojiBuildComplete, type FixtureWorld } from "../fixture-world/src/index.js";
import { ostreeRevParse, startPipeline, type Pipeline, type Seen } from "./pipeline-support.js";

let world: FixtureWorld;
let dir: string;
let pipeline: Pipeline;
let baseline: Seen;

const topicIs = (topic: string, changeSet?: unknown) => (m: Seen) => m.topic === topic && (changeSet === undefined || m.body["change_set_id"] === changeSet);

beforeAll(async () => {
  world = await buildFixtureWorld();
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-pipeline-"));
  pipeline = await startPipeline(world, dir);
  // The repository's current host (an operator's compose of the definition as it is), so the
  // candidate's compose has a parent to diff against.
  await pipeline.listener.bus.publish("pipeline.operator.request", {
    action: "compose",
    version: "1.0.0",
    generated_at: new Date().toISOString(),
    requested_by: "tester",
    reason: "baseline",
  });
  baseline = await pipeline.waitFor(topicIs("pipeline.compose.complete"), 120_000);
}, 180_000);

afterAll(async () => {
  await pipeline.group.shutdown("test done");
  await rm(dir, { recursive: true, force: true });
});

describe("a Koji build of a host package through trigger-listener and composer", () => {
  let complete: Seen;
  const build = () => findBuild(world, "ostree-2024.9-1.fc41");

  it("is composed into a commit that exists, with the upgrade in its package diff", async () => {
    await pipeline.publishFedora(kojiBuildComplete(build()));
    const queued = await pipeline.waitFor((m) => m.topic === "pipeline.change-set.queued" && JSON.stringify(m.body["members"]).includes("ostree-2024.9-1.fc41"));
    const id = queued.body["change_set_id"];
    complete = await pipeline.waitFor(topicIs("pipeline.compose.complete", id), 120_000);
    const states = pipeline.seen.filter((m) => m.body["change_set_id"] === id).map((m) => m.topic);
    expect(states).toEqual(["pipeline.change-set.queued", "pipeline.compose.queued", "pipeline.compose.running", "pipeline.compose.complete"]);
    expect(complete.headers["atomic_ci_change_set"]).toBe(id);

    const repo = (complete.body["repo"] as { location: string }).location;
    expect(repo).toBe(join(dir, "repo"));
    const commit = complete.body["commit"] as string;
    expect(await ostreeRevParse(repo, commit)).toBe(commit);
    expect(await ostreeRevParse(repo, world.hostDefinition.ref)).toBe(commit);
    expect(complete.body).toMatchObject({ ref: world.hostDefinition.ref, parent: baseline.body["commit"], reused: false });
    expect(complete.body["pkgdiff"]).toEqual({
      added: [],
      removed: [],
      upgraded: [
        { from: "ostree-2024.8-1.fc41.x86_64", to: "ostree-2024.9-1.fc41.x86_64" },
        { from: "ostree-libs-2024.8-1.fc41.x86_64", to: "ostree-libs-2024.9-1.fc41.x86_64" },
      ],
      downgraded: [],
    });
    expect(complete.body["os_version"]).toMatch(/^41\.\d{8}\.dev\.1$/);
    expect((complete.body["lockfile"] as { location: string }).location).toMatch(/\.lock\.json$/);
  });

  it("is composed once when Koji's message comes again (trigger-listener drops the duplicate)", async () => {
    const before = pipeline.seen.length;
    await pipeline.publishFedora(kojiBuildComplete(build()));
    const ignored = await pipeline.waitFor(topicIs("pipeline.change-set.ignored"), 10_000, before);
    expect(ignored.body["reason_code"]).toBe("duplicate");
    await new Promise((r) => setTimeout(r, 500));
    expect(pipeline.seen.slice(before).filter((m) => m.topic.startsWith("pipeline.compose."))).toEqual([]);
  });

  it("reuses the commit when the same change set is delivered to the composer again", async () => {
    const before = pipeline.seen.length;
    const id = complete.body["change_set_id"];
    const queued = pipeline.seen.find(topicIs("pipeline.change-set.queued", id));
    if (!queued) throw new Error("no change set seen");
    // As a broker redelivery (or a second trigger-listener replica) would hand it over.
    await pipeline.listener.bus.publish("pipeline.change-set.queued", queued.body, { headers: { atomic_ci_change_set: String(id) } });
    const again = await pipeline.waitFor(topicIs("pipeline.compose.complete", id), 60_000, before);
    expect(again.body).toMatchObject({ commit: complete.body["commit"], input_hash: complete.body["input_hash"], compose_id: complete.body["compose_id"], reused: true });
    expect(await ostreeRevParse(join(dir, "repo"), world.hostDefinition.ref)).toBe(complete.body["commit"]);
  });

  it("reports a build that cannot depsolve as a compose failure naming the missing dependency", async () => {
    const broken = world.broken.find((b) => b.kind === "depsolve");
    if (!broken) throw new Error("the fixture world has no depsolve breakage");
    await pipeline.publishFedora(kojiBuildComplete(findBuild(world, broken.nvr)));
    const error = await pipeline.waitFor(topicIs("pipeline.compose.error"), 120_000);
    expect(error.body).toMatchObject({ kind: "compose-failure", missing_dependency: broken.missing });
    expect(broken.missing).toBe("libndp >= 1.9");
    expect(error.body["reason"]).toContain("NetworkManager");
    // Nothing was committed: the ref still points at the ostree update.
    expect(await ostreeRevParse(join(dir, "repo"), world.hostDefinition.ref)).toBe(complete.body["commit"]);
  });
});

describe("a push to the host definition repository", () => {
  it("is a change set with reason definition, composed like any other", async () => {
    const before = pipeline.seen.length;
    const { name, commit, branch } = world.hostDefinition;
    const push = await gitReceive(world, name, commit, { env: { ...process.env, LC_ALL: "C" } });
    expect(push.body.commit).toMatchObject({ repo: "fedora-atomic", namespace: null, branch });
    await pipeline.publishFedora(push);
    const queued = await pipeline.waitFor(topicIs("pipeline.change-set.queued"), 10_000, before);
    expect(queued.body).toMatchObject({
      reason: "definition",
      members: [{ kind: "definition-commit", repo: "fedora-atomic", branch, rev: commit }],
      definition: { repo: "fedora-atomic", branch, rev: commit },
    });
    const id = queued.body["change_set_id"];
    const done = await pipeline.waitFor((m) => (m.topic === "pipeline.compose.complete" || m.topic === "pipeline.compose.error") && m.body["change_set_id"] === id, 120_000, before);
    expect(done.topic).toBe("pipeline.compose.complete");
    // The same push again is the same change: dropped as a duplicate, nothing composed.
    const again = pipeline.seen.length;
    await pipeline.publishFedora(push);
    const ignored = await pipeline.waitFor(topicIs("pipeline.change-set.ignored"), 10_000, again);
    expect(ignored.body).toMatchObject({ reason_code: "duplicate", change_set_id: id });
  });
});
