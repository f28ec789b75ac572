import type { Requirement } from "./requirements.js";
import { isTestRequirement } from "./requirements.js";

function plural(count: number, singular: string, pluralForm: string): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/**
 * Greenwave's one-line summary (today's wording, reference/gating.md §2):
 * "No tests are required"; "All required tests (N total) have passed or been waived";
 * "Of N required test(s), " + the unsatisfied kinds in alphabetical order ("result(s) missing",
 * "test(s) errored", "test(s) failed", "test(s) incomplete"). Problems that are not test
 * results (remote rule files) come first, followed by ". " and the test part.
 * Waived requirements count as passed; QUEUED/RUNNING ones (type test-result-missing with a
 * result_state) count as incomplete.
 */
export function summarize(requirements: readonly Requirement[]): string {
  const tests = requirements.filter(isTestRequirement);
  let missing = 0;
  let incomplete = 0;
  let errored = 0;
  let failed = 0;
  let invalidYaml = 0;
  let failedFetch = 0;
  let missingYaml = 0;
  for (const requirement of requirements) {
    switch (requirement.type) {
      case "test-result-missing":
        if (requirement.result_state) incomplete++;
        else missing++;
        break;
      case "test-result-errored":
        errored++;
        break;
      case "test-result-failed":
        failed++;
        break;
      case "invalid-gating-yaml":
        invalidYaml++;
        break;
      case "failed-fetch-gating-yaml":
        failedFetch++;
        break;
      case "missing-gating-yaml":
        missingYaml++;
        break;
      default:
        break;
    }
  }

  const other: string[] = [];
  if (invalidYaml) other.push(plural(invalidYaml, "error due to invalid remote rule file", "errors due to invalid remote rule files"));
  if (failedFetch) other.push(plural(failedFetch, "error due to failed remote rule file fetch", "errors due to failed remote rule file fetches"));
  if (missingYaml) other.push(plural(missingYaml, "required remote rule file missing", "required remote rule files missing"));

  let testPart: string | undefined;
  if (tests.length > 0) {
    // Alphabetical by kind: result(s) missing, test(s) errored, test(s) failed, test(s) incomplete.
    const kinds: string[] = [];
    if (missing) kinds.push(plural(missing, "result missing", "results missing"));
    if (errored) kinds.push(plural(errored, "test errored", "tests errored"));
    if (failed) kinds.push(plural(failed, "test failed", "tests failed"));
    if (incomplete) kinds.push(plural(incomplete, "test incomplete", "tests incomplete"));
    testPart =
      kinds.length === 0
        ? `All required tests (${tests.length} total) have passed or been waived`
        : `Of ${plural(tests.length, "required test", "required tests")}, ${kinds.join(", ")}`;
  }

  if (other.length === 0) return testPart ?? "No tests are required";
  return testPart === undefined ? other.join(", ") : `${other.join(", ")}. ${testPart}`;
}
