import { describe, expect, it } from "vitest";
import { decisionUpdate } from "./changes.js";
import { decide, type Decision } from "./decide.js";
import { BUILD, fakePorts, NVR, policies, result } from "./gating.test-helper.js";

const TC = "fedora-ci.koji-build.tier0.functional";
const SERVER = policies(`--- !Policy
id: package_gate
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules: [!PassingTestCaseRule {test_case_name: ${TC}}]
`);
const body = { product_version: "fedora-26", decision_context: "bodhi_update_push_testing", subject_type: "koji_build", subject_identifier: NVR };

async function decisionWith(outcome?: "PASSED" | "FAILED"): Promise<Decision> {
  const results = outcome ? [result(TC, outcome, { id: outcome === "PASSED" ? 100 : 200 })] : [];
  const d = await decide(body, fakePorts({ policies: SERVER, results }));
  if (!d.ok) throw new Error(d.error.message);
  return d.decision;
}

const key = { subject: BUILD, product_version: "fedora-26", decision_context: "bodhi_update_push_testing" };

describe("decisionUpdate", () => {
  it("publishes nothing when the decision did not change", async () => {
    expect(decisionUpdate({ ...key, previous: await decisionWith("FAILED"), current: await decisionWith("FAILED") })).toBeUndefined();
  });

  it("publishes the change with the previous decision", async () => {
    const update = decisionUpdate({ ...key, previous: await decisionWith(), current: await decisionWith("PASSED") });
    expect(update).toMatchObject({
      subject_type: "koji_build",
      subject_identifier: NVR,
      product_version: "fedora-26",
      decision_context: "bodhi_update_push_testing",
      policies_satisfied: true,
      summary: "All required tests (1 total) have passed or been waived",
      applicable_policies: ["package_gate"],
      previous: { policies_satisfied: false, summary: "Of 1 required test, 1 result missing" },
    });
  });

  it("publishes the first decision with previous null", async () => {
    const update = decisionUpdate({ ...key, previous: null, current: await decisionWith("FAILED") });
    expect(update?.previous).toBeNull();
    expect(update?.unsatisfied_requirements).toMatchObject([{ type: "test-result-failed", result_id: 200 }]);
  });
});
