import { describe, expect, it } from "vitest";
import { parsePolicies, validateGatingYaml } from "./policy.js";

const SERVER = `
--- !Policy
id: atomic_host_compose
product_versions: [fedora-*]
decision_context: compose_gate
subject_type: compose
rules:
  - !PassingTestCaseRule {test_case_name: atomic-ci.compose.tier0.functional, scenario: qcow2}
--- !Policy
id: package_gate
product_versions: [fedora-26, fedora-27]
decision_contexts: [bodhi_update_push_testing, bodhi_update_push_stable]
subject_type: koji_build
excluded_packages: [kernel*]
rules:
  - !RemoteRule {required: true, sources: ["https://src.example/{pkg_namespace}{pkg_name}/raw/{rev}/f/gating.yaml"]}
`;

// The maintainer's gating.yaml from reference/gating.md §1.
const GATING_YAML = `--- !Policy
decision_contexts: [bodhi_update_push_testing]
product_versions: [fedora-*]
rules: [!PassingTestCaseRule {test_case_name: fedora-ci.koji-build.tier0.functional}]
`;

describe("parsePolicies", () => {
  it("parses server policies with both decision context spellings and both rule tags", () => {
    const parsed = parsePolicies(SERVER);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.policies.map((p) => [p.id, p.decision_contexts, p.subject_types])).toEqual([
      ["atomic_host_compose", ["compose_gate"], ["compose"]],
      ["package_gate", ["bodhi_update_push_testing", "bodhi_update_push_stable"], ["koji_build"]],
    ]);
    expect(parsed.policies[0]?.rules).toEqual([
      { type: "PassingTestCaseRule", test_case_name: "atomic-ci.compose.tier0.functional", scenario: "qcow2" },
    ]);
    expect(parsed.policies[1]?.rules).toEqual([
      { type: "RemoteRule", required: true, sources: ["https://src.example/{pkg_namespace}{pkg_name}/raw/{rev}/f/gating.yaml"] },
    ]);
    expect(parsed.policies[1]?.excluded_packages).toEqual(["kernel*"]);
  });

  it("parses the gating.md maintainer example as a remote policy with defaults", () => {
    const parsed = parsePolicies(GATING_YAML, { remote: true, source: "gating.yaml@abc" });
    expect(parsed).toMatchObject({
      ok: true,
      policies: [{ id: "gating.yaml@abc#1", subject_types: ["koji_build"], product_versions: ["fedora-*"], source: "gating.yaml@abc" }],
    });
  });

  it("reports unknown keys naming the document and the key", () => {
    const parsed = parsePolicies(`--- !Policy\nid: a\nproduct_versions: [f]\ndecision_context: c\nsubject_type: compose\nrules: []\n--- !Policy\nid: b\nproduct_versions: [f]\ndecision_context: c\nsubject_type: compose\nbogus: 1\nrules: [!PassingTestCaseRule {test_case_name: t, colour: red}]\n`);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.errors[0]).toMatch(/^document 2: .*bogus/);
    // Rule keys are checked once the policy's own keys are valid.
    const rule = parsePolicies(`--- !Policy\nid: b\nproduct_versions: [f]\ndecision_context: c\nsubject_type: compose\nrules: [!PassingTestCaseRule {test_case_name: t, colour: red}]\n`);
    expect(rule.ok ? [] : rule.errors).toEqual([expect.stringMatching(/^document 1: rules\.0: .*colour/)]);
  });

  it("rejects unknown tags, untagged documents and missing required fields", () => {
    expect(parsePolicies(`--- !Policy\nid: a\nproduct_versions: [f]\ndecision_context: c\nsubject_type: compose\nrules: [!Foo {a: 1}]\n`)).toEqual({
      ok: false,
      errors: [expect.stringMatching(/^document 1: .*!Foo/)],
    });
    expect(parsePolicies(`---\nid: a\nrules: []\n`)).toEqual({ ok: false, errors: ["document 1: missing !Policy tag"] });
    const missing = parsePolicies(`--- !Policy\nrules: []\n`);
    expect(missing.ok ? [] : missing.errors).toEqual([
      "document 1: decision_contexts: required",
      "document 1: id: required",
      "document 1: subject_type: required",
      "document 1: product_versions: required",
    ]);
  });

  it("rejects an untagged rule and an invalid valid_since", () => {
    const parsed = parsePolicies(`--- !Policy\nid: a\nproduct_versions: [f]\ndecision_context: c\nsubject_type: compose\nrules:\n  - {test_case_name: t}\n  - !PassingTestCaseRule {test_case_name: t, valid_since: soon}\n`);
    expect(parsed.ok ? [] : parsed.errors).toEqual([
      "document 1: rules.0: a rule must be tagged !PassingTestCaseRule or !RemoteRule",
      expect.stringMatching(/^document 1: rules\.1: valid_since: must be an ISO/),
    ]);
  });
});

describe("validateGatingYaml", () => {
  it("accepts the maintainer example", () => {
    expect(validateGatingYaml(GATING_YAML)).toEqual({ ok: true, errors: [] });
  });

  it("refuses a RemoteRule inside gating.yaml", () => {
    expect(validateGatingYaml(`--- !Policy\ndecision_context: c\nrules: [!RemoteRule {}]\n`)).toEqual({
      ok: false,
      errors: ["document 1: rules.0: !RemoteRule is not allowed in a gating.yaml"],
    });
  });

  it("refuses an empty file and broken YAML", () => {
    expect(validateGatingYaml("")).toEqual({ ok: false, errors: ["no !Policy documents"] });
    expect(validateGatingYaml("--- !Policy\nrules: [\n").ok).toBe(false);
  });
});
