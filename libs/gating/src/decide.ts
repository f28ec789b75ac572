import type { ResultsdbResult, WaiverdbWaiver } from "@atomic-ci/messages";
import { EvaluationContext, evaluatePolicy, packageSelected, policyMatches } from "./evaluate.js";
import type { Policy } from "./policy.js";
import type { DecisionPorts } from "./ports.js";
import { parseDecisionRequest, type DecisionError, type DecisionRequest } from "./request.js";
import { isSatisfied, isWaivable, waive, type Requirement } from "./requirements.js";
import { GROUP_SUBJECT_TYPES, subjectKey, type Subject } from "./subject.js";
import { summarize } from "./summary.js";

/** Greenwave's v1 decision response. */
export interface Decision {
  policies_satisfied: boolean;
  summary: string;
  /** Ids of the server policies that applied; absent for an on-demand (`rules`) decision. */
  applicable_policies?: string[];
  satisfied_requirements: Requirement[];
  unsatisfied_requirements: Requirement[];
  /** Only when `verbose`. */
  results?: ResultsdbResult[];
  waivers?: WaiverdbWaiver[];
}

export type DecideOutcome = { ok: true; decision: Decision } | { ok: false; error: DecisionError };

const ON_DEMAND_POLICY_ID = "on-demand policy";

/** A group stands for its member builds plus itself (update-level results), as Greenwave does for Bodhi. */
async function expandSubjects(subjects: readonly Subject[], ports: DecisionPorts): Promise<Subject[]> {
  const out = new Map<string, Subject>();
  for (const subject of subjects) {
    out.set(subjectKey(subject), subject);
    if (GROUP_SUBJECT_TYPES.has(subject.type) && ports.groupMembers) {
      for (const member of await ports.groupMembers(subject)) out.set(subjectKey(member), member);
    }
  }
  return [...out.values()];
}

function onDemandPolicy(request: DecisionRequest, subjects: readonly Subject[]): Policy {
  return {
    id: ON_DEMAND_POLICY_ID,
    source: null,
    decision_contexts: [],
    subject_types: [...new Set(subjects.map((s) => s.type))],
    product_versions: [request.product_version],
    excluded_packages: [],
    rules: request.rules ?? [],
  };
}

/** The latest waiver (by id) for each subject/testcase/scenario, honouring `when` and `ignore_waiver`. */
function usableWaivers(waivers: readonly WaiverdbWaiver[], request: DecisionRequest): WaiverdbWaiver[] {
  const ignored = new Set(request.ignore_waiver);
  const when = request.when?.getTime();
  return waivers.filter((w) => !ignored.has(w.id) && (when === undefined || Date.parse(w.timestamp) <= when));
}

/** Waivers match subject, test case, product version and scenario exactly; the newest decides (waived=false revokes). */
function findWaiver(requirement: Requirement & { testcase: string; scenario: string | null }, waivers: readonly WaiverdbWaiver[], pv: string): WaiverdbWaiver | undefined {
  const matching = waivers.filter(
    (w) =>
      w.subject_type === requirement.subject_type &&
      w.subject_identifier === requirement.subject_identifier &&
      w.testcase === requirement.testcase &&
      w.product_version === pv &&
      (w.scenario ?? null) === requirement.scenario,
  );
  const newest = matching.sort((a, b) => b.id - a.id)[0];
  return newest?.waived ? newest : undefined;
}

function dedupe(requirements: readonly Requirement[]): Requirement[] {
  const seen = new Set<string>();
  return requirements.filter((r) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Decide a `POST /api/v1.0/decision` body. Port failures (ResultsDB/WaiverDB down) are thrown. */
export async function decide(body: unknown, ports: DecisionPorts): Promise<DecideOutcome> {
  const parsed = parseDecisionRequest(body);
  if (!parsed.ok) return parsed;
  const request = parsed.value;
  const subjects = await expandSubjects(request.subjects, ports);
  const at = request.when ?? ports.now?.() ?? new Date();
  const ctx = new EvaluationContext(ports, request.product_version, request.decision_contexts, at, request.when !== undefined, new Set(request.ignore_result));

  const onDemand = request.rules !== undefined;
  const policies = onDemand ? [onDemandPolicy(request, subjects)] : ports.policies;
  const applicable: string[] = [];
  let requirements: Requirement[] = [];
  for (const subject of subjects) {
    for (const policy of policies) {
      if (!policyMatches(policy, ctx, subject) || !packageSelected(policy, subject)) continue;
      if (!applicable.includes(policy.id)) applicable.push(policy.id);
      requirements.push(...(await evaluatePolicy(policy, subject, ctx)));
    }
  }
  if (applicable.length === 0) {
    const types = [...new Set(request.subjects.map((s) => s.type))].join(", ");
    return {
      ok: false,
      error: {
        kind: "not-found",
        status: 404,
        message: `Found no applicable policies for ${types} subjects at gating point(s) ${(request.decision_contexts ?? []).join(", ")} in ${request.product_version}`,
      },
    };
  }
  requirements = dedupe(requirements);

  const waiversBySubject = new Map<string, WaiverdbWaiver[]>();
  for (const subject of subjects) {
    waiversBySubject.set(subjectKey(subject), usableWaivers(await ports.waivers(subject, request.product_version), request));
  }
  requirements = requirements.map((r) => {
    if (!isWaivable(r)) return r;
    const waiver = findWaiver(r, waiversBySubject.get(subjectKey({ type: r.subject_type, identifier: r.subject_identifier })) ?? [], request.product_version);
    return waiver ? waive(r, waiver.id) : r;
  });

  const unsatisfied = requirements.filter((r) => !isSatisfied(r));
  const decision: Decision = {
    policies_satisfied: unsatisfied.length === 0,
    summary: summarize(requirements),
    ...(onDemand ? {} : { applicable_policies: applicable }),
    satisfied_requirements: requirements.filter(isSatisfied),
    unsatisfied_requirements: unsatisfied,
  };
  if (request.verbose) {
    decision.results = [...ctx.seenResults.values()];
    decision.waivers = [...waiversBySubject.values()].flat();
  }
  return { ok: true, decision };
}
