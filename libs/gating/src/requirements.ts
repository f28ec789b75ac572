import type { ResultsdbOutcome } from "@atomic-ci/messages";

/** Fields every requirement about one test case of one subject carries (Greenwave's v1 JSON). */
interface TestFields {
  testcase: string;
  subject_type: string;
  subject_identifier: string;
  scenario: string | null;
  /** The policy's source (a gating.yaml URL for remote policies), null for server policies. */
  source: string | null;
}

/** Deprecated duplicate of the subject that Greenwave keeps on unsatisfied requirements. */
interface ItemField {
  item: { type: string; item: string };
}

export type TestResultPassed = TestFields & { type: "test-result-passed"; result_id: number };
export type TestResultMissing = TestFields &
  ItemField & {
    type: "test-result-missing";
    /** Set when a QUEUED/RUNNING result exists: the requirement is *incomplete*, not missing. */
    result_id?: number;
    result_state?: Extract<ResultsdbOutcome, "QUEUED" | "RUNNING">;
    details?: string;
  };
export type TestResultFailed = TestFields &
  ItemField & { type: "test-result-failed"; result_id: number; result_state: "FAILED" | "NEEDS_INSPECTION" };
export type TestResultErrored = TestFields &
  ItemField & { type: "test-result-errored"; result_id: number; error_reason: string };

export type UnsatisfiedTestRequirement = TestResultMissing | TestResultFailed | TestResultErrored;

/** A waived test requirement: the unsatisfied one with "-waived", the waiver id and no `item`. */
export type WaivedRequirement = {
  [T in UnsatisfiedTestRequirement as T["type"]]: Omit<T, "type" | "item"> & {
    type: `${T["type"]}-waived`;
    waiver_id: number;
  };
}[UnsatisfiedTestRequirement["type"]];

interface RemoteFields {
  testcase: string;
  subject_type: string;
  subject_identifier: string;
  scenario: null;
}
export type FetchedGatingYaml = RemoteFields & { type: "fetched-gating-yaml"; source: string | null };
export type MissingGatingYaml = RemoteFields & { type: "missing-gating-yaml"; sources: string[] };
export type FailedFetchGatingYaml = RemoteFields & { type: "failed-fetch-gating-yaml"; sources: string[]; error: string };
export type InvalidGatingYaml = RemoteFields & { type: "invalid-gating-yaml"; source: string | null; details: string };
export interface Excluded {
  type: "excluded";
  subject_type: string;
  subject_identifier: string;
  policy: string;
  source: string | null;
}

export type Requirement =
  | TestResultPassed
  | UnsatisfiedTestRequirement
  | WaivedRequirement
  | FetchedGatingYaml
  | MissingGatingYaml
  | FailedFetchGatingYaml
  | InvalidGatingYaml
  | Excluded;

export type RequirementType = Requirement["type"];

const SATISFIED: ReadonlySet<RequirementType> = new Set<RequirementType>([
  "test-result-passed",
  "test-result-missing-waived",
  "test-result-failed-waived",
  "test-result-errored-waived",
  "fetched-gating-yaml",
  "excluded",
]);

export function isSatisfied(requirement: Requirement): boolean {
  return SATISFIED.has(requirement.type);
}

/** Requirements about test results: these, and only these, are counted as "required tests". */
export function isTestRequirement(requirement: Requirement): boolean {
  return requirement.type.startsWith("test-result-");
}

export function isWaivable(requirement: Requirement): requirement is UnsatisfiedTestRequirement {
  return (
    requirement.type === "test-result-missing" ||
    requirement.type === "test-result-failed" ||
    requirement.type === "test-result-errored"
  );
}

export function waive(requirement: UnsatisfiedTestRequirement, waiverId: number): WaivedRequirement {
  const { item: _item, type, ...rest } = requirement;
  return { ...rest, type: `${type}-waived`, waiver_id: waiverId } as WaivedRequirement;
}
