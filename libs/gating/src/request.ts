import type { Rule } from "./policy.js";
import type { Subject } from "./subject.js";

/** A validated `POST /api/v1.0/decision` body. */
export interface DecisionRequest {
  product_version: string;
  /** undefined for an on-demand decision (`rules` given instead). */
  decision_contexts?: string[];
  /** The on-demand policy's rules, when given instead of a decision context. */
  rules?: Rule[];
  subjects: Subject[];
  verbose: boolean;
  /** Decide as of this time: later results and waivers are ignored. */
  when?: Date;
  ignore_result: number[];
  ignore_waiver: number[];
}

/** A request Greenwave would refuse, with the HTTP status our handler answers. */
export type DecisionError =
  | { kind: "bad-request"; status: 400; message: string }
  | { kind: "not-found"; status: 404; message: string };

export function badRequest(message: string): DecisionError {
  return { kind: "bad-request", status: 400, message };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: DecisionError };

const fail = (message: string): { ok: false; error: DecisionError } => ({ ok: false, error: badRequest(message) });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function parseSubjects(body: Record<string, unknown>): Parsed<Subject[]> {
  if (body.subject !== undefined) {
    if (!Array.isArray(body.subject) || body.subject.length === 0) return fail("Invalid subject, must be a non-empty list");
    const subjects: Subject[] = [];
    for (const entry of body.subject as unknown[]) {
      if (!isRecord(entry) || !isString(entry.type) || !isString(entry.item)) {
        return fail("Invalid subject, each entry needs a type and an item");
      }
      subjects.push({ type: entry.type, identifier: entry.item });
    }
    return { ok: true, value: subjects };
  }
  if (!isString(body.subject_type)) return fail("Missing required subject_type parameter");
  if (!isString(body.subject_identifier)) return fail("Missing required subject_identifier parameter");
  return { ok: true, value: [{ type: body.subject_type, identifier: body.subject_identifier }] };
}

/** On-demand rules as JSON objects: `{type: "PassingTestCaseRule", test_case_name, scenario?}` or `{type: "RemoteRule", required?}`. */
function parseRules(raw: unknown): Parsed<Rule[]> {
  if (!Array.isArray(raw) || raw.length === 0) return fail("Invalid rules, must be a non-empty list");
  const rules: Rule[] = [];
  for (const entry of raw as unknown[]) {
    if (!isRecord(entry)) return fail("Invalid rule, must be an object");
    if (entry.type === "PassingTestCaseRule" && isString(entry.test_case_name)) {
      const scenario = isString(entry.scenario) ? entry.scenario : null;
      rules.push({ type: "PassingTestCaseRule", test_case_name: entry.test_case_name, scenario });
    } else if (entry.type === "RemoteRule") {
      rules.push({ type: "RemoteRule", required: entry.required === true, sources: [] });
    } else {
      return fail("Invalid rule, need type PassingTestCaseRule (with test_case_name) or RemoteRule");
    }
  }
  return { ok: true, value: rules };
}

function parseIds(raw: unknown, name: string): Parsed<number[]> {
  if (raw === undefined) return { ok: true, value: [] };
  if (!Array.isArray(raw) || !raw.every((id) => Number.isInteger(id))) return fail(`Invalid ${name}, must be a list of ids`);
  return { ok: true, value: raw as number[] };
}

/** Greenwave's request checks, in its order; the messages follow Greenwave's wording. */
export function parseDecisionRequest(body: unknown): Parsed<DecisionRequest> {
  if (!isRecord(body)) return fail("No JSON payload in request");
  if (!isString(body.product_version)) return fail("Missing required product version");
  const hasContext = body.decision_context !== undefined;
  const hasRules = body.rules !== undefined;
  if (hasContext && hasRules) return fail("Cannot have both decision_context and rules");
  if (!hasContext && !hasRules) return fail("Either decision_context or rules is required.");
  if (body.verbose !== undefined && typeof body.verbose !== "boolean") return fail("Invalid verbose flag, must be a bool");

  const subjects = parseSubjects(body);
  if (!subjects.ok) return subjects;

  let decision_contexts: string[] | undefined;
  let rules: Rule[] | undefined;
  if (hasContext) {
    const raw = body.decision_context;
    decision_contexts = isString(raw) ? [raw] : Array.isArray(raw) && raw.every(isString) && raw.length > 0 ? raw : undefined;
    if (!decision_contexts) return fail("Invalid decision_context, must be a string or a list of strings");
  } else {
    const parsed = parseRules(body.rules);
    if (!parsed.ok) return parsed;
    rules = parsed.value;
  }

  let when: Date | undefined;
  if (body.when !== undefined) {
    when = typeof body.when === "string" ? new Date(body.when) : undefined;
    if (!when || Number.isNaN(when.getTime())) return fail("Invalid when, must be an ISO 8601 time");
  }
  const ignoreResult = parseIds(body.ignore_result, "ignore_result");
  if (!ignoreResult.ok) return ignoreResult;
  const ignoreWaiver = parseIds(body.ignore_waiver, "ignore_waiver");
  if (!ignoreWaiver.ok) return ignoreWaiver;

  return {
    ok: true,
    value: {
      product_version: body.product_version,
      ...(decision_contexts ? { decision_contexts } : {}),
      ...(rules ? { rules } : {}),
      subjects: subjects.value,
      verbose: body.verbose === true,
      ...(when ? { when } : {}),
      ignore_result: ignoreResult.value,
      ignore_waiver: ignoreWaiver.value,
    },
  };
}
