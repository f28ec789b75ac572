// The public surface of @atomic-ci/gating: a Greenwave-compatible decision core.
export { parsePolicies, validateGatingYaml, type ParseOptions, type ParseResult, type PassingTestCaseRule, type Policy, type RemoteRule, type Rule } from "./policy.js";
export { decide, type DecideOutcome, type Decision } from "./decide.js";
export { parseDecisionRequest, type DecisionError, type DecisionRequest } from "./request.js";
export type { DecisionPorts, RemoteGatingYaml } from "./ports.js";
export { isSatisfied, isTestRequirement, type Requirement, type RequirementType } from "./requirements.js";
export { summarize } from "./summary.js";
export { latestResults } from "./evaluate.js";
export { decisionUpdate, type DecisionChangeInput } from "./changes.js";
export { DECISION_PATH, gatingRequestListener, VALIDATE_PATH } from "./http.js";
export { GROUP_SUBJECT_TYPES, SUBJECT_TYPES, type Subject, type SubjectType } from "./subject.js";
export { globMatch } from "./glob.js";
