import { describe, expect, it } from "vitest";
import { decide, type Decision } from "./decide.js";
import { BUILD, fakePorts, NVR, policies, result, waiver } from "./gating.test-helper.js";
import type { DecisionPorts } from "./ports.js";

const TC = "fedora-ci.koji-build.tier0.functional";
const SERVER = policies(`--- !Policy
id: package_gate
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: ${TC}}
`);

const request = (extra: Record<string, unknown> = {}) => ({
  product_version: "fedora-26",
  decision_context: "bodhi_update_push_testing",
  subject_type: "koji_build",
  subject_identifier: NVR,
  ...extra,
});

async function decision(ports: DecisionPorts, extra: Record<string, unknown> = {}): Promise<Decision> {
  const outcome = await decide(request(extra), ports);
  if (!outcome.ok) throw new Error(outcome.error.message);
  return outcome.decision;
}

describe("decide: request validation", () => {
  const ports = fakePorts({ policies: SERVER });
  it.each<[string, unknown, string]>([
    ["missing product_version", { decision_context: "c", subject_type: "koji_build", subject_identifier: NVR }, "Missing required product version"],
    ["neither context nor rules", { product_version: "fedora-26", subject_type: "koji_build", subject_identifier: NVR }, "Either decision_context or rules is required."],
    ["both context and rules", request({ rules: [] }), "Cannot have both decision_context and rules"],
    ["non-bool verbose", request({ verbose: "yes" }), "Invalid verbose flag, must be a bool"],
  ])("%s is a 400", async (_name, body, message) => {
    expect(await decide(body, ports)).toEqual({ ok: false, error: { kind: "bad-request", status: 400, message } });
  });

  it("is a 404 when no policy applies (product_version glob does not match)", async () => {
    const outcome = await decide(request({ product_version: "epel-7" }), ports);
    expect(outcome.ok ? 200 : outcome.error.status).toBe(404);
  });
});

describe("decide: test results", () => {
  it("reports a missing result", async () => {
    const d = await decision(fakePorts({ policies: SERVER }));
    expect(d.policies_satisfied).toBe(false);
    expect(d.applicable_policies).toEqual(["package_gate"]);
    expect(d.summary).toBe("Of 1 required test, 1 result missing");
    expect(d.unsatisfied_requirements).toEqual([
      { type: "test-result-missing", testcase: TC, subject_type: "koji_build", subject_identifier: NVR, scenario: null, source: null, item: { type: "koji_build", item: NVR } },
    ]);
  });

  it("passes on PASSED and on INFO", async () => {
    for (const outcome of ["PASSED", "INFO"] as const) {
      const r = result(TC, outcome);
      const d = await decision(fakePorts({ policies: SERVER, results: [r] }));
      expect(d.policies_satisfied).toBe(true);
      expect(d.satisfied_requirements).toMatchObject([{ type: "test-result-passed", result_id: r.id }]);
      expect(d.summary).toBe("All required tests (1 total) have passed or been waived");
    }
  });

  it("takes the latest result: a re-run PASSED replaces an earlier FAILED", async () => {
    const results = [result(TC, "FAILED", { time: "2017-06-01T09:00:00" }), result(TC, "PASSED", { time: "2017-06-01T10:00:00" })];
    expect((await decision(fakePorts({ policies: SERVER, results }))).policies_satisfied).toBe(true);
    const reversed = [result(TC, "PASSED", { time: "2017-06-01T09:00:00" }), result(TC, "FAILED", { time: "2017-06-01T10:00:00" })];
    expect((await decision(fakePorts({ policies: SERVER, results: reversed }))).summary).toBe("Of 1 required test, 1 test failed");
  });

  it("keeps the latest result per arch: a pass on one arch does not hide a failure on another", async () => {
    const failedArm = result(TC, "FAILED", { arch: "aarch64", time: "2017-06-01T09:00:00" });
    const results = [failedArm, result(TC, "PASSED", { arch: "x86_64", time: "2017-06-01T10:00:00" })];
    const d = await decision(fakePorts({ policies: SERVER, results }));
    expect(d.unsatisfied_requirements).toMatchObject([{ type: "test-result-failed", result_id: failedArm.id }]);
  });

  it("ranks a failure on one arch above a re-run still queued on another", async () => {
    const failed = result(TC, "FAILED", { arch: "x86_64" });
    const results = [failed, result(TC, "QUEUED", { arch: "aarch64" })];
    const d = await decision(fakePorts({ policies: SERVER, results }));
    expect(d.unsatisfied_requirements).toMatchObject([{ type: "test-result-failed", result_id: failed.id }]);
  });

  it("shows QUEUED as test-result-missing with its state, summarised as incomplete", async () => {
    const queued = result(TC, "QUEUED");
    const d = await decision(fakePorts({ policies: SERVER, results: [queued] }));
    expect(d.unsatisfied_requirements).toMatchObject([{ type: "test-result-missing", result_id: queued.id, result_state: "QUEUED" }]);
    expect(d.summary).toBe("Of 1 required test, 1 test incomplete");
  });

  it("reports ERROR as errored with the reason", async () => {
    const d = await decision(fakePorts({ policies: SERVER, results: [result(TC, "ERROR", { note: "runner lost its VM" })] }));
    expect(d.unsatisfied_requirements).toMatchObject([{ type: "test-result-errored", error_reason: "runner lost its VM" }]);
    expect(d.summary).toBe("Of 1 required test, 1 test errored");
  });

  it("honours ignore_result, when and verbose", async () => {
    const failed = result(TC, "FAILED", { time: "2017-06-01T12:00:00" });
    const passed = result(TC, "PASSED", { time: "2017-06-01T08:00:00" });
    const ports = fakePorts({ policies: SERVER, results: [passed, failed] });
    expect((await decision(ports, { ignore_result: [failed.id] })).policies_satisfied).toBe(true);
    expect((await decision(ports, { when: "2017-06-01T09:00:00" })).policies_satisfied).toBe(true);
    const verbose = await decision(ports, { verbose: true });
    expect(verbose.results?.map((r) => r.id).sort()).toEqual([passed.id, failed.id].sort());
    expect(verbose.waivers).toEqual([]);
    expect((await decision(ports)).results).toBeUndefined();
  });

  it("applies a scenario rule only to results of that scenario", async () => {
    const scenarioPolicies = policies(`--- !Policy
id: compose_gate
product_versions: [fedora-*]
decision_context: compose_gate
subject_type: compose
rules: [!PassingTestCaseRule {test_case_name: host.boot, scenario: qcow2}]
`);
    const compose = "Fedora-Atomic-26-20170601.0";
    const results = [result("host.boot", "PASSED", { item: compose, type: "compose", scenario: "iso" })];
    const ports = fakePorts({ policies: scenarioPolicies, results });
    const body = { product_version: "fedora-26", decision_context: "compose_gate", subject: [{ type: "compose", item: compose }] };
    const outcome = await decide(body, ports);
    expect(outcome.ok && outcome.decision.unsatisfied_requirements).toMatchObject([{ type: "test-result-missing", scenario: "qcow2" }]);
  });
});

describe("decide: waivers", () => {
  it("turns a failure into test-result-failed-waived that counts as passed", async () => {
    const failed = result(TC, "FAILED");
    const w = waiver(TC);
    const d = await decision(fakePorts({ policies: SERVER, results: [failed], waivers: [w] }));
    expect(d.policies_satisfied).toBe(true);
    expect(d.satisfied_requirements).toEqual([
      { type: "test-result-failed-waived", testcase: TC, subject_type: "koji_build", subject_identifier: NVR, scenario: null, source: null, result_id: failed.id, result_state: "FAILED", waiver_id: w.id },
    ]);
    expect(d.summary).toBe("All required tests (1 total) have passed or been waived");
  });

  it("waives a missing result visibly", async () => {
    const d = await decision(fakePorts({ policies: SERVER, waivers: [waiver(TC)] }));
    expect(d.satisfied_requirements.map((r) => r.type)).toEqual(["test-result-missing-waived"]);
  });

  it.each<[string, Parameters<typeof waiver>[1]]>([
    ["another scenario", { scenario: "qcow2" }],
    ["another product version", { product_version: "fedora-27" }],
    ["another build", { subject_identifier: "rpm-ostree-2017.6-4.fc26" }],
    ["waived=false", { waived: false }],
  ])("does not match a waiver for %s", async (_name, options) => {
    const d = await decision(fakePorts({ policies: SERVER, results: [result(TC, "FAILED")], waivers: [waiver(TC, options)] }));
    expect(d.unsatisfied_requirements.map((r) => r.type)).toEqual(["test-result-failed"]);
  });

  it("a newer waived=false revokes, ignore_waiver drops", async () => {
    const granted = waiver(TC);
    const revoked = waiver(TC, { waived: false });
    const ports = fakePorts({ policies: SERVER, results: [result(TC, "FAILED")], waivers: [granted, revoked] });
    expect((await decision(ports)).policies_satisfied).toBe(false);
    expect((await decision(ports, { ignore_waiver: [revoked.id] })).policies_satisfied).toBe(true);
  });
});

describe("decide: RemoteRule", () => {
  const remotePolicies = (required: boolean) =>
    policies(`--- !Policy
id: remote
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules: [!RemoteRule {required: ${required}}]
`);
  const GATING = `--- !Policy
decision_contexts: [bodhi_update_push_testing]
rules: [!PassingTestCaseRule {test_case_name: ${TC}}]
--- !Policy
decision_contexts: [bodhi_update_push_stable]
rules: [!PassingTestCaseRule {test_case_name: other.test}]
`;

  it("applies the fetched gating.yaml's matching policies", async () => {
    const ports = fakePorts({ policies: remotePolicies(false), remote: { [NVR]: { found: true, text: GATING, source: "dist-git/rpm-ostree@abc/gating.yaml" } }, results: [result(TC, "FAILED")] });
    const d = await decision(ports);
    expect(d.satisfied_requirements).toMatchObject([{ type: "fetched-gating-yaml", source: "dist-git/rpm-ostree@abc/gating.yaml" }]);
    expect(d.unsatisfied_requirements).toMatchObject([{ type: "test-result-failed", testcase: TC, source: "dist-git/rpm-ostree@abc/gating.yaml" }]);
    expect(d.summary).toBe("Of 1 required test, 1 test failed");
  });

  it("skips a missing gating.yaml unless required", async () => {
    const optional = await decision(fakePorts({ policies: remotePolicies(false) }));
    expect([optional.policies_satisfied, optional.summary]).toEqual([true, "No tests are required"]);
    const required = await decision(fakePorts({ policies: remotePolicies(true) }));
    expect(required.unsatisfied_requirements.map((r) => r.type)).toEqual(["missing-gating-yaml"]);
    expect(required.policies_satisfied).toBe(false);
  });

  it("reports an invalid gating.yaml and a failed fetch", async () => {
    const invalid = await decision(fakePorts({ policies: remotePolicies(false), remote: { [NVR]: { found: true, text: "--- !Policy\nrules: [!RemoteRule {}]\n" } } }));
    expect(invalid.unsatisfied_requirements).toMatchObject([{ type: "invalid-gating-yaml", details: expect.stringContaining("not allowed") as unknown }]);
    expect(invalid.summary).toBe("1 error due to invalid remote rule file");
    const failed = await decision(fakePorts({ policies: remotePolicies(false), remote: { [NVR]: { error: "dist-git timed out" } } }));
    expect(failed.unsatisfied_requirements).toMatchObject([{ type: "failed-fetch-gating-yaml", error: "dist-git timed out" }]);
  });
});

describe("decide: groups, packages and on-demand rules", () => {
  it("decides a bodhi_update over its builds and update-level results", async () => {
    const groupPolicies = policies(`--- !Policy
id: builds
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules: [!PassingTestCaseRule {test_case_name: ${TC}}]
--- !Policy
id: update
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: bodhi_update
rules: [!PassingTestCaseRule {test_case_name: update.tier0}]
`);
    const other = "ostree-2017.7-1.fc26";
    const ports = fakePorts({
      policies: groupPolicies,
      groups: { "FEDORA-2017-abc": [BUILD, { type: "koji_build", identifier: other }] },
      results: [result(TC, "PASSED"), result(TC, "FAILED", { item: other }), result("update.tier0", "PASSED", { item: "FEDORA-2017-abc", type: "bodhi_update" })],
    });
    const outcome = await decide(request({ subject_type: "bodhi_update", subject_identifier: "FEDORA-2017-abc" }), ports);
    if (!outcome.ok) throw new Error(outcome.error.message);
    expect(outcome.decision.applicable_policies).toEqual(["update", "builds"]);
    expect(outcome.decision.summary).toBe("Of 3 required tests, 1 test failed");
    expect(outcome.decision.unsatisfied_requirements).toMatchObject([{ type: "test-result-failed", subject_identifier: other }]);
  });

  it("marks excluded packages and ignores unselected ones", async () => {
    const pkgPolicies = policies(`--- !Policy
id: p
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
excluded_packages: [rpm-*]
rules: [!PassingTestCaseRule {test_case_name: ${TC}}]
`);
    const d = await decision(fakePorts({ policies: pkgPolicies }));
    expect(d.satisfied_requirements).toMatchObject([{ type: "excluded", policy: "p" }]);
    expect(d.policies_satisfied).toBe(true);
  });

  it("decides on-demand rules without applicable_policies", async () => {
    const body = { product_version: "fedora-26", subject_type: "koji_build", subject_identifier: NVR, rules: [{ type: "PassingTestCaseRule", test_case_name: "x.y" }] };
    const outcome = await decide(body, fakePorts({ policies: [], results: [result("x.y", "PASSED")] }));
    expect(outcome.ok && outcome.decision).toMatchObject({ policies_satisfied: true });
    expect(outcome.ok && "applicable_policies" in outcome.decision).toBe(false);
  });
});
