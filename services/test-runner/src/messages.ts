// Pure parts of the test-runner: test case names, Fedora CI message bodies and ResultsDB
// results for one test on one compose (unit-tested).
import type { CiTestResult, ComposeComplete, ResultsdbOutcome } from "@atomic-ci/messages";
import type { NewResult, TestCase, TestRun } from "@atomic-ci/testing";

/** The Fedora CI message spec version the bodies follow. */
export const CI_SPEC_VERSION = "1.1.14";
export const CI_CATEGORY = "functional";

/** One test planned on one compose: where it comes from and what it is called. */
export interface PlannedTest {
  test: TestCase;
  /** The git repository holding `test.commit`. */
  gitDir: string;
  /** Source package, or the definition's name for host tests. */
  component: string;
  /** The package build's NVR; absent for host tests. */
  nvr?: string;
  /** `<namespace>.<component>` */
  namespace: string;
  /** Distinct within the component: the test's name, made a single word. */
  type: string;
  /** `whole-host`: an unchanged host package's test, run for the compose gate (composeGate.allHostPackages). */
  scope?: "whole-host";
}

export function testcaseOf(planned: Pick<PlannedTest, "namespace" | "type">): string {
  return `${planned.namespace}.${planned.type}.${CI_CATEGORY}`;
}

/** A word for a test case name part: anything but letters, digits, `_` and `-` becomes `-`. */
export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "test";
}

/**
 * Test case types for a component's tests: the test's own name (STI: the key under `tests:`,
 * tmt: the node, `/tests/smoke` → `tests-smoke`); when two tests of the component would share
 * it (two STI files, or one tmt test in two plans), the whole id after the component instead.
 */
export function testTypes(tests: readonly TestCase[]): Map<TestCase, string> {
  const short = (t: TestCase) => slug(t.name);
  const counts = new Map<string, number>();
  for (const t of tests) counts.set(short(t), (counts.get(short(t)) ?? 0) + 1);
  return new Map(tests.map((t) => [t, (counts.get(short(t)) ?? 0) > 1 ? slug(t.id.slice(t.id.indexOf("/") + 1)) : short(t)]));
}

export interface RunLinks {
  /** Fedora CI `run.url`. */
  url: string;
  /** Fedora CI `run.log`: the output log (of the counting attempt, once there is one). */
  log: string;
  /** Fedora CI `run.rebuild` (a page about re-running) and `run.trigger_rebuild` (POST it to re-run): the results API's reruns. */
  rebuild?: string;
  triggerRebuild?: string;
}

export interface CiContext {
  compose: Pick<ComposeComplete, "compose_id" | "commit" | "os_version" | "change_set_id">;
  contact: { name: string; team: string; docs: string; email: string };
  basearch: string;
  now: Date;
}

function ciCommon(planned: PlannedTest, links: RunLinks, ctx: CiContext) {
  return {
    contact: { ...ctx.contact },
    run: { url: links.url, log: links.log, ...(links.rebuild ? { rebuild: links.rebuild } : {}), ...(links.triggerRebuild ? { trigger_rebuild: links.triggerRebuild } : {}) },
    artifact: { type: "productmd-compose" as const, id: ctx.compose.compose_id, compose_type: "ci" },
    pipeline: { id: `${ctx.compose.compose_id}.${planned.namespace}.${planned.type}`, name: "atomic-ci test-runner" },
    test: { category: CI_CATEGORY, namespace: planned.namespace, type: planned.type, scenario: `${ctx.basearch}.bwrap` },
    generated_at: ctx.now.toISOString(),
    version: CI_SPEC_VERSION,
  };
}

/** `ci.productmd-compose.test.queued` / `.running`. */
export function queuedBody(planned: PlannedTest, links: RunLinks, ctx: CiContext) {
  return ciCommon(planned, links, ctx);
}

export function completeBody(planned: PlannedTest, run: TestRun, links: RunLinks & { outputUrls: string[] }, ctx: CiContext) {
  const common = ciCommon(planned, links, ctx);
  const result: CiTestResult = run.outcome === "passed" ? "passed" : "failed";
  return {
    ...common,
    test: { ...common.test, result, runtime: Math.round(run.runtimeMs) / 1000, output_urls: links.outputUrls, ...(run.reason ? { output: run.reason } : {}), label: run.passedOnRerun ? ["passed-on-rerun"] : [] },
    system: [{ os: `fedora-atomic-host-${ctx.compose.os_version}`, provider: "bwrap", architecture: ctx.basearch }],
  };
}

export function errorBody(planned: PlannedTest, reason: string, links: RunLinks, ctx: CiContext) {
  return { ...ciCommon(planned, links, ctx), error: { reason: reason.trim() || "(no reason given)" } };
}

export function outcomeOf(run: Pick<TestRun, "outcome">): ResultsdbOutcome {
  return run.outcome === "passed" ? "PASSED" : run.outcome === "failed" ? "FAILED" : "ERROR";
}

/**
 * A ResultsDB result of a test on a compose: `item` is the OSTree commit (what was tested,
 * the same for every change set that composed to it), `type` `compose`.
 */
export function resultOf(
  planned: PlannedTest,
  outcome: ResultsdbOutcome,
  ctx: CiContext,
  extra: { note?: string; refUrl?: string; passedOnRerun?: boolean; rerun?: { requestedBy: string; reason: string } } = {},
): NewResult {
  const data: Record<string, string[]> = {
    item: [ctx.compose.commit],
    type: ["compose"],
    compose_id: [ctx.compose.compose_id],
    change_set_id: [ctx.compose.change_set_id],
    arch: [ctx.basearch],
    scenario: [`${ctx.basearch}.bwrap`],
    component: [planned.component],
    test_id: [planned.test.id],
    test_commit: [planned.test.commit],
  };
  if (planned.nvr) data["nvr"] = [planned.nvr];
  if (extra.passedOnRerun !== undefined) data["passed_on_rerun"] = [String(extra.passedOnRerun)];
  // A run on request: said in the result, so history shows why a test ran twice on one commit.
  if (extra.rerun) Object.assign(data, { rerun: ["true"], rerun_requested_by: [extra.rerun.requestedBy], rerun_reason: [extra.rerun.reason] });
  const result: NewResult = { outcome, testcase: { name: testcaseOf(planned), ref_url: ctx.contact.docs }, data, note: extra.note ?? "" };
  if (extra.refUrl) result.ref_url = extra.refUrl;
  return result;
}

/**
 * A summary result the gates read (docs/gating.md, "Results the gates read"): the outcome of a
 * group of tests on one compose. `build`: a changed build's dist-git tests, reported on the
 * build (`koji_build`, item = NVR) with `data.compose` = the commit it was tested on;
 * `package-tests` / `host-tests`: every package test / every host test of the compose,
 * reported on the compose (item = the commit).
 */
export interface GateGroup {
  kind: "build" | "package-tests" | "host-tests";
  testcase: string;
  /** The NVR (build) or the OSTree commit (compose summaries). */
  item: string;
  /** Test case names of the tests summed up, in run order. */
  testcases: string[];
  component?: string;
  nvr?: string;
  /** The build's dist-git commit, so the gatekeeper fetches its gating.yaml at that commit. */
  distGitCommit?: string;
}

export const COMPOSE_SUMMARY_TYPES = { "package-tests": "package-tests", "host-tests": "host-tests" } as const;

/** `<namespace>.compose.<package-tests|host-tests>.functional`. */
export function composeSummaryTestcase(namespace: string, kind: "package-tests" | "host-tests"): string {
  return `${namespace}.compose.${COMPOSE_SUMMARY_TYPES[kind]}.${CI_CATEGORY}`;
}

const NOT_FINAL = new Set<ResultsdbOutcome>(["QUEUED", "RUNNING"]);

/**
 * The outcome of a group from its tests' latest outcomes (undefined = no result yet): not
 * final while any test is (RUNNING when one runs, else QUEUED); then FAILED when any failed
 * (or needs inspection), ERROR when any errored, else PASSED. No tests at all: PASSED.
 */
export function aggregateOutcome(outcomes: readonly (ResultsdbOutcome | undefined)[]): ResultsdbOutcome {
  if (outcomes.some((o) => o === "RUNNING")) return "RUNNING";
  if (outcomes.some((o) => o === undefined || NOT_FINAL.has(o))) return "QUEUED";
  if (outcomes.some((o) => o === "FAILED" || o === "NEEDS_INSPECTION")) return "FAILED";
  if (outcomes.some((o) => o === "ERROR")) return "ERROR";
  return "PASSED";
}

const NOTE_LIMIT = 2000;

/** The summary result of a group; `latest` maps each test case of the group to its latest result. */
export function gateResultOf(group: GateGroup, latest: ReadonlyMap<string, { outcome: ResultsdbOutcome; note?: string | null }>, ctx: CiContext): NewResult {
  const outcomes = group.testcases.map((t) => latest.get(t)?.outcome);
  const outcome = aggregateOutcome(outcomes);
  const bad = group.testcases.filter((t) => {
    const o = latest.get(t)?.outcome;
    return o === "FAILED" || o === "NEEDS_INSPECTION" || o === "ERROR";
  });
  const passed = outcomes.filter((o) => o === "PASSED" || o === "INFO").length;
  let note =
    group.testcases.length === 0
      ? "no tests"
      : `${passed} of ${group.testcases.length} test(s) passed${bad.length > 0 ? `; ${bad.map((t) => `${t} ${latest.get(t)?.outcome ?? ""}${latest.get(t)?.note ? `: ${latest.get(t)?.note ?? ""}` : ""}`).join("; ")}` : ""}`;
  if (note.length > NOTE_LIMIT) note = `${note.slice(0, NOTE_LIMIT - 1)}…`;
  const data: Record<string, string[]> = {
    item: [group.item],
    type: [group.kind === "build" ? "koji_build" : "compose"],
    compose: [ctx.compose.commit],
    compose_id: [ctx.compose.compose_id],
    change_set_id: [ctx.compose.change_set_id],
    arch: [ctx.basearch],
    scenario: [`${ctx.basearch}.bwrap`],
    summary_of: [...group.testcases],
  };
  if (group.component) data["component"] = [group.component];
  if (group.nvr) data["nvr"] = [group.nvr];
  if (group.distGitCommit) data["dist_git_commit"] = [group.distGitCommit];
  return { outcome, testcase: { name: group.testcase, ref_url: ctx.contact.docs }, data, note };
}
