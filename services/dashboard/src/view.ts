// From the projection to what the page shows: each change set with its stage, composes, tests
// and gate decisions, requirements in plain words, and the streams. Pure (unit-tested).
import { nvrPackageName, type GreenwaveRequirement } from "@atomic-ci/messages";
import { type ChangeSetRow, type ComposeRow, type DashboardState, type DecisionRow, type StreamRow, type TestRow, type WaiverRow } from "./projection.js";

/** How a stage is coloured: `fail` red, `pass` green, `wait` amber, `busy` blue, `idle` grey. */
export type Tone = "fail" | "pass" | "wait" | "busy" | "idle";

export interface Stage {
  label: string;
  tone: Tone;
}

export interface GateView {
  subject: string;
  context: string;
  satisfied: boolean;
  summary: string;
  /** The unsatisfied requirements, in plain words. */
  requirements: string[];
  tone: Tone;
}

export interface ComposeView {
  row: ComposeRow;
  tests: TestRow[];
  gates: GateView[];
}

export interface ChangeSetView {
  row: ChangeSetRow;
  stage: Stage;
  composes: ComposeView[];
  /** Package-gate decisions on its builds. */
  buildGates: GateView[];
}

export interface PageView {
  seq: number;
  updatedAt?: string;
  changeSets: ChangeSetView[];
  streams: StreamRow[];
  waivers: WaiverRow[];
  ignored: number;
}

export const shortCommit = (commit: string): string => (/^[0-9a-f]{64}$/.test(commit) ? commit.slice(0, 12) : commit);

function subjectWords(subjectType: string | undefined, identifier: string | undefined): string {
  if (!identifier) return "its subject";
  if (subjectType === "compose") return `compose ${shortCommit(identifier)}`;
  if (subjectType === "koji_build" || subjectType === "brew-build") return `build ${identifier}`;
  return `${subjectType ?? "subject"} ${identifier}`;
}

/** Whose test a test case is: the component a result named, else `<namespace>.<component>.…` of our own test case names. */
function ownerOf(testcase: string, subjectType: string | undefined, identifier: string | undefined, known: ReadonlyMap<string, string>): string | undefined {
  const fromResult = known.get(testcase);
  if (fromResult) return fromResult;
  const word = /^atomic-ci\.([^.]+)\.[^.]+\.[^.]+$/.exec(testcase)?.[1];
  if (word && word !== "compose" && word !== "image") return word;
  if ((subjectType === "koji_build" || subjectType === "brew-build") && identifier) return nvrPackageName(identifier);
  return undefined;
}

export interface WordsContext {
  /** Test case → component, from results seen. */
  components?: ReadonlyMap<string, string>;
  /** Test case → where it stands (`queued`, `running`), when the requirement does not say. */
  states?: ReadonlyMap<string, string>;
}

/** An unsatisfied requirement in plain words, e.g. "podman's test atomic-ci.podman.tests.functional failed on compose 1a2b3c4d5e6f". */
export function requirementWords(req: GreenwaveRequirement, ctx: WordsContext = {}): string {
  const r = req as GreenwaveRequirement & { result_state?: unknown; error_reason?: unknown; details?: unknown; error?: unknown };
  const on = subjectWords(r.subject_type, r.subject_identifier);
  const testcase = r.testcase ?? "(unnamed test)";
  const owner = ownerOf(testcase, r.subject_type, r.subject_identifier, ctx.components ?? new Map());
  const test = `${owner ? `${owner}'s test` : "test"} ${testcase}`;
  const scenario = typeof r.scenario === "string" && r.scenario ? ` (${r.scenario})` : "";
  switch (r.type) {
    case "test-result-failed":
      return `${test} failed on ${on}${scenario}`;
    case "test-result-errored":
      return `${test} could not run on ${on}${scenario}${typeof r.error_reason === "string" && r.error_reason ? `: ${r.error_reason}` : ""}`;
    case "test-result-missing": {
      const state = typeof r.result_state === "string" ? r.result_state.toLowerCase() : ctx.states?.get(testcase);
      return `${test} has not run yet on ${on}${scenario}${state ? ` (${state})` : ""}`;
    }
    case "invalid-gating-yaml":
      return `the gating.yaml for ${on} is invalid${typeof r.details === "string" ? `: ${r.details}` : ""}`;
    case "missing-gating-yaml":
      return `the gating.yaml for ${on} is missing`;
    case "failed-fetch-gating-yaml":
      return `the gating.yaml for ${on} could not be fetched${typeof r.error === "string" ? `: ${r.error}` : ""}`;
    default:
      return `${r.type}${r.testcase ? ` ${r.testcase}` : ""} on ${on}`;
  }
}

function gateView(d: DecisionRow, ctx: WordsContext): GateView {
  const hardFailure = d.unsatisfied.some((r) => r.type !== "test-result-missing");
  return {
    subject: subjectWords(d.subjectType, d.subjectIdentifier),
    context: d.context,
    satisfied: d.satisfied,
    summary: d.summary,
    requirements: d.unsatisfied.map((r) => requirementWords(r, ctx)),
    tone: d.satisfied ? "pass" : hardFailure ? "fail" : "busy",
  };
}

function stageOf(cs: ChangeSetRow, composes: ComposeView[], buildGates: GateView[], streams: readonly StreamRow[]): Stage {
  const latest = composes.at(-1);
  if (!latest) return cs.known ? { label: "queued", tone: "idle" } : { label: "seen", tone: "idle" };
  const c = latest.row;
  if (c.state === "queued") return { label: "compose queued", tone: "busy" };
  if (c.state === "running") return { label: "composing", tone: "busy" };
  if (c.state === "error") return { label: c.error?.kind === "infrastructure-error" ? "compose error (infrastructure)" : "compose failed", tone: "fail" };
  const commit = c.commit;
  const delivered = streams.filter((s) => s.delivered.some((d) => d.commit === commit)).map((s) => s.name);
  if (delivered.length > 0) return { label: `released to ${delivered.join(", ")}`, tone: "pass" };
  const held = streams.filter((s) => commit !== undefined && commit in s.held).map((s) => s.name);
  const gates = [...latest.gates, ...buildGates];
  if (gates.some((g) => g.tone === "fail")) return { label: "gate failed", tone: "fail" };
  if (held.length > 0) return { label: `held for ${held.join(", ")}`, tone: "wait" };
  if (gates.length > 0 && gates.every((g) => g.satisfied)) return { label: "gate passed", tone: "pass" };
  if (latest.tests.some((t) => t.state === "queued" || t.state === "running") || gates.length > 0) return { label: "testing", tone: "busy" };
  return { label: "composed", tone: "busy" };
}

const byTime = <T extends { at: string }>(a: T, b: T) => Date.parse(a.at) - Date.parse(b.at);

/** The page's model of the projection. */
export function pageView(state: DashboardState): PageView {
  const testsByCompose = new Map<string, TestRow[]>();
  for (const t of Object.values(state.tests)) testsByCompose.set(t.composeId, [...(testsByCompose.get(t.composeId) ?? []), t]);
  const decisions = Object.values(state.decisions);
  const streams = Object.values(state.streams).sort((a, b) => a.name.localeCompare(b.name));

  const changeSets = state.order.flatMap((id): ChangeSetView[] => {
    const row = state.changeSets[id];
    if (!row) return [];
    const composes = row.composes.flatMap((composeId): ComposeView[] => {
      const compose = state.composes[composeId];
      if (!compose) return [];
      const tests = (testsByCompose.get(composeId) ?? []).sort((a, b) => Number(a.summary ?? false) - Number(b.summary ?? false) || a.testcase.localeCompare(b.testcase));
      const ctx: WordsContext = {
        components: new Map(tests.flatMap((t) => (t.component ? [[t.testcase, t.component] as const] : []))),
        states: new Map(tests.filter((t) => t.state === "queued" || t.state === "running").map((t) => [t.testcase, t.state] as const)),
      };
      const gates = compose.commit ? decisions.filter((d) => d.subjectType === "compose" && d.subjectIdentifier === compose.commit).sort((a, b) => a.context.localeCompare(b.context)).map((d) => gateView(d, ctx)) : [];
      return [{ row: compose, tests, gates }];
    });
    const allTests = composes.flatMap((c) => c.tests);
    const ctx: WordsContext = { components: new Map(allTests.flatMap((t) => (t.component ? [[t.testcase, t.component] as const] : []))) };
    const buildGates = row.nvrs
      .flatMap((nvr) => decisions.filter((d) => (d.subjectType === "koji_build" || d.subjectType === "brew-build") && d.subjectIdentifier === nvr))
      .sort(byTime)
      .map((d) => gateView(d, ctx));
    return [{ row, composes, buildGates, stage: stageOf(row, composes, buildGates, streams) }];
  });
  const view: PageView = { seq: state.seq, changeSets, streams, waivers: state.waivers, ignored: state.ignored };
  if (state.updatedAt) view.updatedAt = state.updatedAt;
  return view;
}

