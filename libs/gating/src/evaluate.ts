import { resultDataValue, type ResultsdbResult } from "@atomic-ci/messages";
import { parsePolicies, type PassingTestCaseRule, type Policy, type RemoteRule } from "./policy.js";
import type { DecisionPorts, RemoteGatingYaml } from "./ports.js";
import type { Requirement } from "./requirements.js";
import { anyGlobMatches } from "./glob.js";
import { subjectItem, subjectKey, subjectPackage, type Subject } from "./subject.js";

/** Per-decision state: caches so each port is asked once per subject, and the request's filters. */
export class EvaluationContext {
  private readonly resultCache = new Map<string, Promise<readonly ResultsdbResult[]>>();
  private readonly remoteCache = new Map<string, Promise<RemoteGatingYaml>>();
  /** Every result the decision looked at, for the verbose response. */
  readonly seenResults = new Map<number, ResultsdbResult>();

  constructor(
    readonly ports: DecisionPorts,
    readonly productVersion: string,
    readonly decisionContexts: readonly string[] | undefined,
    readonly at: Date,
    readonly asOfRequest: boolean,
    private readonly ignoreResult: ReadonlySet<number>,
  ) {}

  async results(subject: Subject, testcase: string): Promise<ResultsdbResult[]> {
    const key = `${subjectKey(subject)}\u0000${testcase}`;
    let pending = this.resultCache.get(key);
    if (!pending) this.resultCache.set(key, (pending = this.ports.results(subject, testcase)));
    const all = await pending;
    // The port may return more than asked (a whole item's results); keep only what the rule means.
    const kept = all.filter(
      (r) =>
        r.testcase.name === testcase &&
        (r.data.item === undefined || r.data.item.includes(subject.identifier)) &&
        !this.ignoreResult.has(r.id) &&
        (!this.asOfRequest || Date.parse(r.submit_time) <= this.at.getTime()),
    );
    for (const r of kept) this.seenResults.set(r.id, r);
    return kept;
  }

  remote(subject: Subject, sources: readonly string[]): Promise<RemoteGatingYaml> {
    const key = `${subjectKey(subject)}\u0000${sources.join("\u0000")}`;
    let pending = this.remoteCache.get(key);
    if (!pending) this.remoteCache.set(key, (pending = this.ports.remoteGatingYaml(subject, sources)));
    return pending;
  }
}

/** Does the policy apply at this gating point to this subject type? (packages are checked apart.) */
export function policyMatches(policy: Policy, ctx: EvaluationContext, subject: Subject): boolean {
  const contextOk = ctx.decisionContexts === undefined || policy.decision_contexts.some((c) => ctx.decisionContexts?.includes(c));
  return contextOk && policy.subject_types.includes(subject.type) && anyGlobMatches(policy.product_versions, ctx.productVersion);
}

/** `packages` limits a koji_build policy to matching packages; other subject types ignore it. */
export function packageSelected(policy: Policy, subject: Subject): boolean {
  const pkg = subjectPackage(subject);
  return pkg === undefined || policy.packages === undefined || anyGlobMatches(policy.packages, pkg);
}

export function packageExcluded(policy: Policy, subject: Subject): boolean {
  const pkg = subjectPackage(subject);
  return pkg !== undefined && anyGlobMatches(policy.excluded_packages, pkg);
}

function first(result: ResultsdbResult, ...keys: string[]): string | null {
  for (const key of keys) {
    const value = resultDataValue(result, key);
    if (value !== undefined) return value;
  }
  return null;
}

/** Greenwave considers the latest result per distinct (architecture, variant, scenario). */
export function latestResults(results: readonly ResultsdbResult[]): ResultsdbResult[] {
  const latest = new Map<string, ResultsdbResult>();
  for (const r of results) {
    const key = JSON.stringify([first(r, "system_architecture", "arch"), first(r, "system_variant", "variant"), first(r, "scenario")]);
    const seen = latest.get(key);
    const newer = !seen || Date.parse(r.submit_time) > Date.parse(seen.submit_time) || (r.submit_time === seen.submit_time && r.id > seen.id);
    if (newer) latest.set(key, r);
  }
  return [...latest.values()];
}

/** Worst first: one failing arch fails the rule even when another passed. */
const SEVERITY: Record<ResultsdbResult["outcome"], number> = {
  FAILED: 4,
  NEEDS_INSPECTION: 4,
  ERROR: 3,
  QUEUED: 2,
  RUNNING: 2,
  PASSED: 0,
  INFO: 0,
};

function withinValidity(rule: PassingTestCaseRule, at: Date): boolean {
  if (rule.valid_since !== undefined && at.getTime() < Date.parse(rule.valid_since)) return false;
  return rule.valid_until === undefined || at.getTime() < Date.parse(rule.valid_until);
}

export async function evaluateTestRule(
  rule: PassingTestCaseRule,
  subject: Subject,
  source: string | null,
  ctx: EvaluationContext,
): Promise<Requirement[]> {
  if (!withinValidity(rule, ctx.at)) return [];
  const base = {
    testcase: rule.test_case_name,
    subject_type: subject.type,
    subject_identifier: subject.identifier,
    source,
  };
  const matching = (await ctx.results(subject, rule.test_case_name)).filter(
    (r) => rule.scenario === null || resultDataValue(r, "scenario") === rule.scenario,
  );
  const worst = latestResults(matching).sort((a, b) => SEVERITY[b.outcome] - SEVERITY[a.outcome] || b.id - a.id)[0];
  if (!worst) return [{ ...base, type: "test-result-missing", scenario: rule.scenario, item: subjectItem(subject) }];
  const scenario = resultDataValue(worst, "scenario") ?? null;
  const item = subjectItem(subject);
  switch (worst.outcome) {
    case "PASSED":
    case "INFO":
      return [{ ...base, type: "test-result-passed", scenario, result_id: worst.id }];
    case "QUEUED":
    case "RUNNING":
      // Greenwave keeps the old type for compatibility; the state shows what is going on.
      return [
        {
          ...base,
          type: "test-result-missing",
          scenario,
          item,
          result_id: worst.id,
          result_state: worst.outcome,
          details: `latest result is ${worst.outcome}`,
        },
      ];
    case "ERROR":
      return [{ ...base, type: "test-result-errored", scenario, item, result_id: worst.id, error_reason: worst.note ?? "unknown error" }];
    case "FAILED":
    case "NEEDS_INSPECTION":
      return [{ ...base, type: "test-result-failed", scenario, item, result_id: worst.id, result_state: worst.outcome }];
  }
}

/** Evaluate a policy's rules for one subject; a RemoteRule evaluates the gating.yaml's policies. */
export async function evaluatePolicy(policy: Policy, subject: Subject, ctx: EvaluationContext): Promise<Requirement[]> {
  if (packageExcluded(policy, subject)) {
    return [{ type: "excluded", subject_type: subject.type, subject_identifier: subject.identifier, policy: policy.id, source: policy.source }];
  }
  const out: Requirement[] = [];
  for (const rule of policy.rules) {
    if (rule.type === "PassingTestCaseRule") out.push(...(await evaluateTestRule(rule, subject, policy.source, ctx)));
    else out.push(...(await evaluateRemoteRule(rule, policy, subject, ctx)));
  }
  return out;
}

async function evaluateRemoteRule(rule: RemoteRule, parent: Policy, subject: Subject, ctx: EvaluationContext): Promise<Requirement[]> {
  const base = { subject_type: subject.type, subject_identifier: subject.identifier, scenario: null };
  const fetched = await ctx.remote(subject, rule.sources);
  if ("error" in fetched) {
    return [{ ...base, type: "failed-fetch-gating-yaml", testcase: "failed-fetch-gating-yaml", sources: rule.sources, error: fetched.error }];
  }
  if (!fetched.found) {
    // A package without gating.yaml is fine unless the policy insists on one.
    return rule.required ? [{ ...base, type: "missing-gating-yaml", testcase: "missing-gating-yaml", sources: rule.sources }] : [];
  }
  const source = fetched.source ?? null;
  const parsed = parsePolicies(fetched.text, { remote: true, parent, ...(source ? { source } : {}) });
  if (!parsed.ok) {
    return [{ ...base, type: "invalid-gating-yaml", testcase: "invalid-gating-yaml", source, details: parsed.errors.join("; ") }];
  }
  const out: Requirement[] = [{ ...base, type: "fetched-gating-yaml", testcase: "fetched-gating-yaml", source }];
  for (const policy of parsed.policies) {
    if (policyMatches(policy, ctx, subject) && packageSelected(policy, subject)) out.push(...(await evaluatePolicy(policy, subject, ctx)));
  }
  return out;
}
