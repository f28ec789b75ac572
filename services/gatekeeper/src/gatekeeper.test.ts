import type { RemoteGatingYaml, Subject } from "@atomic-ci/gating";
import type { GreenwaveDecisionUpdate, ResultsdbResult } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import { specBuilds, splitNvr } from "./distgit.js";
import { Gatekeeper, storedLogLine } from "./gatekeeper.js";
import { parsePolicyFiles } from "./policies.js";
import { commitOfResult } from "./store.js";

const PACKAGE_GATE = `--- !Policy
id: package-gate
product_versions: [fedora-*]
decision_contexts: [bodhi_update_push_testing]
subject_type: koji_build
rules:
  - !RemoteRule {}
`;
const COMPOSE_GATE = `--- !Policy
id: compose-gate
product_versions: [fedora-41]
decision_contexts: [atomic_ci_compose_gate]
subject_type: compose
rules:
  - !PassingTestCaseRule {test_case_name: atomic-ci.compose.host-tests.functional}
`;
const TC = "fedora-ci.koji-build.tier0.functional";
const GATING_YAML = `--- !Policy\nproduct_versions: [fedora-*]\ndecision_contexts: [bodhi_update_push_testing]\nrules:\n  - !PassingTestCaseRule {test_case_name: ${TC}}\n`;

const IMAGE_GATE = `--- !Policy
id: image-gate
product_versions: [fedora-41]
decision_contexts: [atomic_ci_image_gate]
subject_type: compose
rules:
  - !PassingTestCaseRule {test_case_name: atomic-ci.compose.image-tests.functional}
`;

function setup(remote: Record<string, RemoteGatingYaml> = {}, extra: { composeGates?: string[]; batchWindowMs?: number; policies?: Record<string, string> } = {}) {
  const published: { topic: string; body: unknown }[] = [];
  let remoteCalls = 0;
  const gatekeeper = new Gatekeeper({
    bus: {
      publish: (topic: string, body: unknown) => {
        published.push({ topic, body });
        return Promise.resolve();
      },
    } as never,
    settings: {
      productVersion: "fedora-41",
      contexts: { package: "bodhi_update_push_testing", compose: "atomic_ci_compose_gate", ...(extra.composeGates ? { composeGates: extra.composeGates } : {}) },
      ...(extra.batchWindowMs === undefined ? {} : { batchWindowMs: extra.batchWindowMs }),
    },
    policies: parsePolicyFiles(new Map(Object.entries({ "package-gate.yaml": PACKAGE_GATE, "compose-gate.yaml": COMPOSE_GATE, ...extra.policies }))),
    remoteGatingYaml: (s: Subject) => {
      remoteCalls++;
      return Promise.resolve(remote[s.identifier] ?? { found: true, text: GATING_YAML, source: "test" });
    },
    logger: { info: () => undefined, debug: () => undefined, warn: () => undefined },
    now: () => new Date("2025-01-01T00:00:00Z"),
  });
  const updates = () => published.filter((p) => p.topic === "greenwave.decision.update").map((p) => p.body as GreenwaveDecisionUpdate);
  return { gatekeeper, published, updates, remoteCalls: () => remoteCalls };
}

let nextId = 1;
function result(item: string, outcome: ResultsdbResult["outcome"], extra: Record<string, string[]> = {}, testcase = TC): ResultsdbResult {
  return { id: nextId++, outcome, testcase: { name: testcase }, data: { item: [item], type: ["koji_build"], ...extra }, submit_time: new Date(Date.UTC(2025, 0, 1, 0, 0, nextId)).toISOString() };
}

describe("Gatekeeper", () => {
  it("publishes a decision only when it changes, with previous", async () => {
    const { gatekeeper, updates } = setup();
    await gatekeeper.onResult(result("ostree-2024.9-1.fc41", "QUEUED"));
    expect(updates()).toHaveLength(1);
    expect(updates()[0]).toMatchObject({ policies_satisfied: false, previous: null, subject_identifier: "ostree-2024.9-1.fc41", decision_context: "bodhi_update_push_testing" });
    const passed = result("ostree-2024.9-1.fc41", "PASSED");
    await gatekeeper.onResult(passed);
    expect(updates()).toHaveLength(2);
    expect(updates()[1]).toMatchObject({ policies_satisfied: true, summary: "All required tests (1 total) have passed or been waived", previous: { policies_satisfied: false } });
    await gatekeeper.onResult(passed);
    expect(updates()).toHaveLength(2);
  });

  it("flips a failed build with a waiver and back with a revocation", async () => {
    const { gatekeeper, updates, published } = setup();
    await gatekeeper.onResult(result("podman-5.2.0-1.fc41", "FAILED"));
    expect(updates().at(-1)?.policies_satisfied).toBe(false);
    const input = { subject_type: "koji_build", subject_identifier: "podman-5.2.0-1.fc41", testcase: TC, product_version: "fedora-41", comment: "known", username: "alice" };
    const waiver = await gatekeeper.submitWaiver({ ...input, waived: true });
    expect(published.some((p) => p.topic === "waiverdb.waiver.new")).toBe(true);
    expect(updates().at(-1)).toMatchObject({ policies_satisfied: true });
    expect(updates().at(-1)?.satisfied_requirements).toContainEqual(expect.objectContaining({ type: "test-result-failed-waived", waiver_id: waiver.id }));
    // The service hears its own waiver back from the bus: no new decision.
    const count = updates().length;
    await gatekeeper.onWaiver(waiver);
    expect(updates()).toHaveLength(count);
    await gatekeeper.submitWaiver({ ...input, waived: false });
    expect(updates().at(-1)).toMatchObject({ policies_satisfied: false });
  });

  it("judges a compose with every host package's gating tests on that compose", async () => {
    const { gatekeeper, updates } = setup({ "bash-5.2-1.fc41": { found: true, text: "--- !Policy\nproduct_versions: [fedora-*]\ndecision_contexts: [bodhi_update_push_testing]\nrules: []\n" } });
    const compose = { compose: ["c-1"] };
    await gatekeeper.onResult(result("ostree-2024.9-1.fc41", "QUEUED", compose));
    await gatekeeper.onResult(result("bash-5.2-1.fc41", "PASSED", compose));
    await gatekeeper.onResult({ ...result("c-1", "PASSED", { type: ["compose"] }, "atomic-ci.compose.host-tests.functional") });
    const gate = () => updates().filter((u) => u.subject_type === "compose").at(-1);
    expect(gate()).toMatchObject({ subject_identifier: "c-1", decision_context: "atomic_ci_compose_gate", policies_satisfied: false });
    expect(gate()?.unsatisfied_requirements).toEqual([expect.objectContaining({ type: "test-result-missing", subject_identifier: "ostree-2024.9-1.fc41", result_state: "QUEUED" })]);
    // A pass of the same build on another compose does not count for c-1.
    await gatekeeper.onResult(result("ostree-2024.9-1.fc41", "PASSED", { compose: ["c-2"] }));
    expect(gate()?.policies_satisfied).toBe(false);
    await gatekeeper.onResult(result("ostree-2024.9-1.fc41", "PASSED", compose));
    expect(gate()).toMatchObject({ subject_identifier: "c-1", policies_satisfied: true });
    expect(gate()?.applicable_policies).toEqual(["compose-gate", "package-gate"]);
  });

  it("re-decides a compose at every compose gate with a policy, and skips a gate without one", async () => {
    const { gatekeeper, updates } = setup({}, { composeGates: ["atomic_ci_compose_gate", "atomic_ci_image_gate", "atomic_ci_other_gate"], policies: { "image-gate.yaml": IMAGE_GATE } });
    await gatekeeper.onResult(result("c-9", "PASSED", { type: ["compose"] }, "atomic-ci.compose.host-tests.functional"));
    expect(updates().map((u) => [u.subject_identifier, u.decision_context, u.policies_satisfied, u.summary])).toEqual([
      ["c-9", "atomic_ci_compose_gate", true, "All required tests (1 total) have passed or been waived"],
      ["c-9", "atomic_ci_image_gate", false, "Of 1 required test, 1 result missing"],
    ]);
    // The image gate judges the image tests only: no package gate requirements are folded into it.
    await gatekeeper.onResult(result("bash-5.2-1.fc41", "QUEUED", { compose: ["c-9"] }));
    await gatekeeper.onResult(result("c-9", "PASSED", { type: ["compose"] }, "atomic-ci.compose.image-tests.functional"));
    const last = (context: string) => updates().filter((u) => u.decision_context === context).at(-1);
    expect(last("atomic_ci_compose_gate")).toMatchObject({ policies_satisfied: false, previous: { policies_satisfied: true } });
    expect(last("atomic_ci_image_gate")).toMatchObject({ policies_satisfied: true, applicable_policies: ["image-gate"], previous: { policies_satisfied: false } });
    expect(updates().some((u) => u.decision_context === "atomic_ci_other_gate")).toBe(false);
  });

  it("coalesces a burst: each subject decided once per pass, updates only on change, previous chained in order", async () => {
    const { gatekeeper, updates, remoteCalls } = setup({}, { batchWindowMs: 30 });
    const compose = { compose: ["c-burst"] };
    const nvrs = Array.from({ length: 40 }, (_, i) => `pkg${String(i).padStart(2, "0")}-1.0-1.fc41`);
    // Each package: QUEUED, RUNNING, then PASSED on the compose, all arriving together.
    for (const outcome of ["QUEUED", "RUNNING", "PASSED"] as const) for (const nvr of nvrs) await gatekeeper.receive({ result: result(nvr, outcome, compose) });
    await gatekeeper.receive({ result: result("c-burst", "PASSED", { type: ["compose"] }, "atomic-ci.compose.host-tests.functional") });
    await gatekeeper.idle();
    expect(gatekeeper.stats.passes).toBe(1);
    expect(gatekeeper.stats.decided).toBe(41);
    // One decision per subject, already final: nothing in between is announced.
    expect(updates()).toHaveLength(41);
    expect(updates().every((u) => u.policies_satisfied && u.previous === null)).toBe(true);
    // The compose is judged after every package (marking order).
    expect(updates().at(-1)).toMatchObject({ subject_identifier: "c-burst", summary: "All required tests (41 total) have passed or been waived" });
    // Each build's gating.yaml is fetched once per decision that needs it (the port; DistGit caches per commit).
    expect(remoteCalls()).toBe(80);
    // A later result: one more pass, previous is the decision published before.
    await gatekeeper.onResult(result(nvrs[0] as string, "FAILED", compose));
    expect(updates().slice(41).map((u) => [u.subject_identifier, u.policies_satisfied, u.previous?.policies_satisfied])).toEqual([
      [nvrs[0], false, true],
      ["c-burst", false, true],
    ]);
  });

  it("ignores subjects no policy gates", async () => {
    const { gatekeeper, updates } = setup();
    await gatekeeper.onResult({ ...result("x", "PASSED", { type: ["bodhi_update"] }) });
    expect(updates()).toEqual([]);
  });
});

describe("dist-git helpers", () => {
  it("matches a spec to an NVR, expanding %{?dist}", () => {
    const spec = "Name: ostree\nVersion:        2024.9\nRelease:        1%{?dist}\n";
    expect(splitNvr("ostree-2024.9-1.fc41")).toEqual({ name: "ostree", version: "2024.9", release: "1.fc41" });
    expect(specBuilds(spec, "2024.9", "1.fc41")).toBe(true);
    expect(specBuilds(spec, "2024.9", "2.fc41")).toBe(false);
    expect(specBuilds(spec, "2024.8", "1.fc41")).toBe(false);
  });

  it("reads a build's commit from results", () => {
    const sha = "a".repeat(40);
    expect(commitOfResult(result("x-1-1", "PASSED", { dist_git_commit: [sha] }))).toBe(sha);
    expect(commitOfResult(result("x-1-1", "PASSED", { source: [`git+https://src.fedoraproject.org/rpms/x.git#${sha}`] }))).toBe(sha);
    expect(commitOfResult(result("x-1-1", "PASSED"))).toBeUndefined();
  });
});

describe("storedLogLine", () => {
  it("names what was stored, cut short, without a waiver's comment", () => {
    const huge = "x".repeat(1 << 20);
    const r = { ...result("podman-5.3.0-1.fc41", "FAILED"), testcase: { name: huge } };
    const touched = Array.from({ length: 9 }, (_, i) => ({ type: "koji_build", identifier: `${huge}${i}` }));
    const line = storedLogLine({ result: r }, touched);
    expect(line.msg).toBe("result stored");
    expect(line.fields).toMatchObject({ outcome: "FAILED", subjects_total: 9 });
    expect(line.fields["subjects"]).toHaveLength(5);
    expect(JSON.stringify(line.fields).length).toBeLessThan(2000);
    expect(line.fields["testcase"]).toMatch(/…\(1048576 chars\)$/);

    const waiver = { id: 3, subject_type: "koji_build", subject_identifier: "bash-5.2.37-1.fc41", testcase: TC, product_version: "fedora-41", waived: false, comment: "a secret", username: "alice", timestamp: "2025-01-01T00:00:00Z" };
    const w = storedLogLine({ waiver }, [{ type: "koji_build", identifier: "bash-5.2.37-1.fc41" }]);
    expect(w).toEqual({
      msg: "waiver revocation stored",
      fields: { waiver_id: 3, subject: "koji_build:bash-5.2.37-1.fc41", testcase: TC, product_version: "fedora-41", waived: false, subjects: ["koji_build:bash-5.2.37-1.fc41"] },
    });
  });
});
