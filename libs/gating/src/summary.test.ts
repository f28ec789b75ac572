import { describe, expect, it } from "vitest";
import type { Requirement } from "./requirements.js";
import { summarize } from "./summary.js";

const base = { testcase: "t", subject_type: "koji_build", subject_identifier: "a-1-1", scenario: null, source: null };
const item = { type: "koji_build", item: "a-1-1" };
const passed: Requirement = { ...base, type: "test-result-passed", result_id: 1 };
const missing: Requirement = { ...base, type: "test-result-missing", item };
const queued: Requirement = { ...base, type: "test-result-missing", item, result_id: 2, result_state: "QUEUED" };
const failed: Requirement = { ...base, type: "test-result-failed", item, result_id: 3, result_state: "FAILED" };
const errored: Requirement = { ...base, type: "test-result-errored", item, result_id: 4, error_reason: "VM died" };
const waived: Requirement = { ...base, type: "test-result-failed-waived", result_id: 3, result_state: "FAILED", waiver_id: 9 };
const invalid: Requirement = { ...base, type: "invalid-gating-yaml", testcase: "invalid-gating-yaml", source: null, details: "x" };
const fetched: Requirement = { ...base, type: "fetched-gating-yaml", testcase: "fetched-gating-yaml", source: null };

describe("summarize (gating.md §2 wording)", () => {
  it.each<[string, Requirement[], string]>([
    ["nothing", [], "No tests are required"],
    ["only a fetched gating.yaml", [fetched], "No tests are required"],
    ["all passed", [passed, passed], "All required tests (2 total) have passed or been waived"],
    ["waived counts as passed", [passed, waived], "All required tests (2 total) have passed or been waived"],
    ["one missing of one", [missing], "Of 1 required test, 1 result missing"],
    ["one failed of one", [failed], "Of 1 required test, 1 test failed"],
    ["errored", [errored], "Of 1 required test, 1 test errored"],
    ["missing and failed", [passed, missing, failed], "Of 3 required tests, 1 result missing, 1 test failed"],
    ["alphabetical kinds", [missing, errored, errored, failed, passed], "Of 5 required tests, 1 result missing, 2 tests errored, 1 test failed"],
    ["queued is incomplete", [queued, passed], "Of 2 required tests, 1 test incomplete"],
    ["plural results", [missing, missing, queued, queued], "Of 4 required tests, 2 results missing, 2 tests incomplete"],
    ["invalid remote rule first", [invalid, passed, failed], "1 error due to invalid remote rule file. Of 2 required tests, 1 test failed"],
    ["invalid remote rule alone", [invalid], "1 error due to invalid remote rule file"],
  ])("%s", (_name, requirements, expected) => {
    expect(summarize(requirements)).toBe(expected);
  });
});
