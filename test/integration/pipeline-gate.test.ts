// The two gates end to end: trigger-listener + composer + test-runner + gatekeeper on the
// in-memory bus, over the fixture world. A Koji build becomes a change set, a compose, tests in
// the sandbox, summary results for the gates, and greenwave.decision.update for the build
// (package gate, koji_build = NVR) and for the compose (compose gate, the OSTree commit). Then a
// change set of three builds of which two break only together fails the compose gate, and the
// gatekeeper composes subsets of it until it has named the pair (pipeline.culprits.found).
import { basename } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatekeeperService } from "@atomic-ci/gatekeeper";
import { changeSetIdOf, validateBody, CulpritsFoundMessage, type ChangeSetMember } from "@atomic-ci/messages";
import type { ServiceHandle } from "@atomic-ci/runtime";
import { createTestRunnerService } from "@atomic-ci/test-runner";
import { startPipelineRun, type PipelineRun, type Seen, type Watcher } from "./pipeline-support.js";
import { buildFixtureWorld, findBuild, kojiBuildComplete, type FixtureWorld } from "../fixture-world/src/index.js";
import { PACKAGE_TEST_CASE } from "../fixture-world/src/distgit.js";
import { COMPOSE_TEST_CASES } from "../fixture-world/src/hostdef.js";

let pipeline: PipelineRun;
let world: FixtureWorld;
let listener: ServiceHandle;
let seen: Seen[];
let watcher: Watcher;

const waitFor = (match: (m: Seen) => boolean, timeoutMs = 120_000): Promise<Seen> => watcher.waitFor(match, timeoutMs);

const is = (m: Seen, suffix: string) => m.topic.endsWith(suffix);
const decision = (subjectType: string, identifier: string, context: string) => (m: Seen) =>
  is(m, "greenwave.decision.update") && m.body["subject_type"] === subjectType && m.body["subject_identifier"] === identifier && m.body["decision_context"] === context;
/** The first decision of a subject that no longer waits for a result (nothing missing, or satisfied). */
const settled = (subjectType: string, identifier: string, context: string) => (m: Seen) =>
  decision(subjectType, identifier, context)(m) &&
  (m.body["policies_satisfied"] === true || !(m.body["unsatisfied_requirements"] as { type: string }[]).some((r) => r.type === "test-result-missing"));

async function publishBuilds(nvrs: readonly string[]): Promise<void> {
  for (const nvr of nvrs) {
    const message = kojiBuildComplete(findBuild(world, nvr));
    await listener.bus.publish(message.topic, message.body, { topicPrefix: "org.fedoraproject.prod" });
  }
}

/** Builds → one change set → its compose complete. */
async function compose(nvrs: readonly string[]): Promise<{ changeSet: Seen; complete: Seen }> {
  await publishBuilds(nvrs);
  const changeSet = await waitFor((m) => is(m, "pipeline.change-set.queued") && nvrs.every((nvr) => JSON.stringify(m.body["members"]).includes(`"${nvr}"`)) && (m.body["members"] as unknown[]).length === nvrs.length);
  const complete = await waitFor((m) => is(m, "pipeline.compose.complete") && m.body["change_set_id"] === changeSet.body["change_set_id"], 180_000);
  return { changeSet, complete };
}

beforeAll(async () => {
  world = await buildFixtureWorld();
  // The gatekeeper reads `<baseDir>/rpms/<name>`; the test-runner `<dir>/<name>`.
  expect(basename(world.distGit.root)).toBe("rpms");
  pipeline = await startPipelineRun({
    name: "pipeline-gate",
    world,
    services: [createTestRunnerService({ env: process.env }), createGatekeeperService({ env: process.env })],
    watch: ["#.pipeline.#", "#.resultsdb.result.new", "#.greenwave.decision.update"],
  });
  ({ listener, seen, watcher } = pipeline);
}, 180_000);

afterAll(() => pipeline.stop());

describe("the package gate and the compose gate, end to end", () => {
  it("passes a good candidate (ostree 2024.9) at both gates once its compose's tests pass", async () => {
    const nvr = "ostree-2024.9-1.fc41";
    const { complete } = await compose([nvr]);
    const commit = complete.body["commit"] as string;

    const pkg = await waitFor(settled("koji_build", nvr, "bodhi_update_push_testing"));
    expect(pkg.body).toMatchObject({ policies_satisfied: true, summary: "All required tests (1 total) have passed or been waived" });
    expect(pkg.body["satisfied_requirements"]).toContainEqual(expect.objectContaining({ type: "test-result-passed", testcase: PACKAGE_TEST_CASE, subject_identifier: nvr }));
    // The gating.yaml was read at the build's dist-git commit, which the build's summary names.
    const build = findBuild(world, nvr);
    expect(pkg.body["satisfied_requirements"]).toContainEqual(expect.objectContaining({ type: "fetched-gating-yaml", source: `rpms/ostree.git@${build.distGit.commit}:gating.yaml` }));

    const gate = await waitFor(settled("compose", commit, "atomic_ci_compose_gate"));
    expect(gate.body).toMatchObject({ policies_satisfied: true, applicable_policies: ["atomic-host-compose-gate", "atomic-host-package-gate"] });
    const passed = (gate.body["satisfied_requirements"] as { type: string; testcase?: string; subject_identifier: string }[]).filter((r) => r.type === "test-result-passed");
    expect(passed.map((r) => [r.testcase, r.subject_identifier]).sort()).toEqual([...COMPOSE_TEST_CASES.map((t) => [t, commit]), [PACKAGE_TEST_CASE, nvr]].sort());
    // Before the tests finished, the compose gate said so: not satisfied, the summaries incomplete.
    const first = seen.find(decision("compose", commit, "atomic_ci_compose_gate"));
    expect(first?.body["policies_satisfied"]).toBe(false);
    expect(first?.body["previous"]).toBeNull();
  }, 300_000);

  it("rejects podman 5.3.0 at the package gate, naming its failing test, and fails its compose", async () => {
    const nvr = "podman-5.3.0-1.fc41";
    const { complete } = await compose([nvr]);
    const commit = complete.body["commit"] as string;
    const pkg = await waitFor(settled("koji_build", nvr, "bodhi_update_push_testing"));
    expect(pkg.body).toMatchObject({ policies_satisfied: false, summary: "Of 1 required test, 1 test failed" });
    expect(pkg.body["unsatisfied_requirements"]).toEqual([expect.objectContaining({ type: "test-result-failed", testcase: PACKAGE_TEST_CASE, subject_identifier: nvr, result_state: "FAILED" })]);
    const summary = await waitFor((m) => is(m, "resultsdb.result.new") && (m.body["testcase"] as { name: string }).name === PACKAGE_TEST_CASE && m.body["outcome"] === "FAILED");
    expect(summary.body["note"]).toContain("atomic-ci.podman.tests.functional FAILED: FAIL podman/run-container");

    const gate = await waitFor(settled("compose", commit, "atomic_ci_compose_gate"));
    expect(gate.body["policies_satisfied"]).toBe(false);
    const failed = (gate.body["unsatisfied_requirements"] as { type: string; testcase: string }[]).map((r) => `${r.type} ${r.testcase}`).sort();
    // podman 5.3.0 also breaks the host's container test (`podman run`).
    expect(failed).toEqual(["test-result-failed atomic-ci.compose.host-tests.functional", "test-result-failed atomic-ci.compose.package-tests.functional", `test-result-failed ${PACKAGE_TEST_CASE}`]);
  }, 300_000);

  it("isolates libfoo 2.0 + foo-cli 2.0, which break only together, from a change set with ostree 2024.9", async () => {
    const nvrs = ["foo-cli-2.0-1.fc41", "libfoo-2.0-1.fc41", "ostree-2024.9-1.fc41"];
    // ostree 2024.9 was queued already (first test): the trigger-listener would drop it as a
    // duplicate. The change set a batching window would make is published as it would publish it.
    const batch: ChangeSetMember[] = nvrs.map((nvr) => {
      const b = findBuild(world, nvr);
      return { kind: "build", package: nvr.split("-").slice(0, -2).join("-"), nvr, build_id: b.buildId, source_message_id: `test-${nvr}`, source_topic: "org.fedoraproject.prod.buildsys.build.state.change" };
    });
    const parent = changeSetIdOf(batch);
    await listener.bus.publish("pipeline.change-set.queued", {
      change_set_id: parent,
      version: "1.0.0",
      generated_at: new Date().toISOString(),
      reason: "batch",
      members: batch,
      definition: { repo: world.hostDefinition.name, branch: world.hostDefinition.branch },
    });
    const changeSet = await waitFor((m) => is(m, "pipeline.change-set.queued") && m.body["change_set_id"] === parent);
    const complete = await waitFor((m) => is(m, "pipeline.compose.complete") && m.body["change_set_id"] === parent, 180_000);
    const gate = await waitFor(settled("compose", complete.body["commit"] as string, "atomic_ci_compose_gate"), 180_000);
    expect(gate.body["policies_satisfied"]).toBe(false);

    const found = await waitFor((m) => is(m, "pipeline.culprits.found") && m.body["change_set_id"] === parent, 600_000);
    expect(validateBody(CulpritsFoundMessage, found.body).ok).toBe(true);
    const members = changeSet.body["members"] as ChangeSetMember[];
    const only = (...keep: string[]) => changeSetIdOf(members.filter((m) => m.kind === "build" && keep.includes(m.nvr)));
    expect(found.body).toMatchObject({
      culprits: [
        {
          kind: "combination",
          members: ["build:foo-cli-2.0-1.fc41", "build:libfoo-2.0-1.fc41"],
          rejected: ["build:libfoo-2.0-1.fc41"],
          failing_tests: expect.arrayContaining([`${PACKAGE_TEST_CASE} (foo-cli-2.0-1.fc41)`]) as unknown,
          change_set_id: only("foo-cli-2.0-1.fc41", "libfoo-2.0-1.fc41"),
        },
      ],
      accepted: ["build:foo-cli-2.0-1.fc41", "build:ostree-2024.9-1.fc41"],
      accepted_change_set_id: only("foo-cli-2.0-1.fc41", "ostree-2024.9-1.fc41"),
      composes_tried: 4,
    });
    // The subsets went out as bisect change sets of the parent, and were composed.
    const subsets = seen.filter((m) => is(m, "pipeline.change-set.queued") && m.body["parent_change_set_id"] === parent);
    expect(subsets.map((m) => m.body["reason"])).toEqual(["bisect", "bisect", "bisect", "bisect"]);
    expect(subsets.map((m) => (m.body["members"] as { nvr: string }[]).map((b) => b.nvr).join("+"))).toEqual([
      "foo-cli-2.0-1.fc41+libfoo-2.0-1.fc41",
      "foo-cli-2.0-1.fc41",
      "libfoo-2.0-1.fc41",
      "foo-cli-2.0-1.fc41+ostree-2024.9-1.fc41",
    ]);
    for (const s of subsets) expect(seen.some((m) => is(m, "pipeline.compose.complete") && m.body["change_set_id"] === s.body["change_set_id"])).toBe(true);
  }, 900_000);
});
