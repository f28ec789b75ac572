// The gating part of the demo: after the composes, the two gates at work on the fixture world —
// the good build passes both, a broken build is rejected naming its failing test, a broken
// combination is isolated while its good changes go through, and a waiver lets a known failure
// through. Everything is read from what the services say on the bus (the watcher) and, for the
// waiver, the gatekeeper's WaiverDB API: nothing here decides anything itself.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { WAIVERS_PATH } from "@atomic-ci/gatekeeper";
import { changeSetIdOf, type ChangeSetMember } from "@atomic-ci/messages";
import type { ComposeSummary, PipelineDeps } from "./pipeline.js";
import type { Seen } from "./watch.js";
import { findBuild, kojiBuildComplete } from "./world.js";

/** The fixture world's cases (docs/fixture-world.md): a good build, a broken one, a pair that breaks only together. */
export const GOOD_BUILD = "ostree-2024.9-1.fc41";
export const BROKEN_BUILD = "podman-5.3.0-1.fc41";
export const BROKEN_PAIR = ["libfoo-2.0-1.fc41", "foo-cli-2.0-1.fc41"] as const;
/** The gatekeeper's default decision contexts (docs/gating.md, "The two gating points"). */
const PACKAGE_GATE = "bodhi_update_push_testing";
const COMPOSE_GATE = "atomic_ci_compose_gate";
/** A compose and its tests take seconds on the fixture world; a culprit search a few composes more. */
const TIMEOUT_MS = 90_000;
const CULPRITS_TIMEOUT_MS = 180_000;

export type GatingCase = "good-build" | "broken-build" | "broken-combination" | "waiver";
export type GatingVerdict = "passed" | "rejected" | "waived" | "culprit" | "accepted";

/** One line of the `--json` summary's `gating` list: a change, what the gates made of it, and why. */
export interface GatingSummary {
  case: GatingCase;
  change: string;
  verdict: GatingVerdict;
  /** The requirement that decided it (the failed, waived or passing test), null when none single one did. */
  decisive_requirement: { type: string; testcase: string } | null;
  summary: string;
}

export interface GatingDeps extends PipelineDeps {
  /** The gatekeeper's API, e.g. `http://127.0.0.1:PORT`. */
  gatekeeperUrl: string;
  /** The test-runner's `workDir/runs` and the `artifactsUrl` it names logs under (to read a log back). */
  testRuns: { dir: string; artifactsUrl: string };
  /** The compose of the good build (the pipeline part's step 1): its change set is run again with the gates on. */
  goodCompose: ComposeSummary;
}

interface Requirement {
  type: string;
  testcase?: string;
  scenario?: string | null;
  subject_type?: string;
  subject_identifier?: string;
}

interface Decision {
  subject_type: string;
  subject_identifier: string;
  decision_context: string;
  product_version: string;
  policies_satisfied: boolean;
  summary: string;
  satisfied_requirements: Requirement[];
  unsatisfied_requirements: Requirement[];
}

interface Result {
  outcome: string;
  note?: string | null;
  ref_url?: string;
  testcase: { name: string };
  data: Record<string, string[] | undefined>;
}

interface CulpritsFound {
  change_set_id: string;
  culprits: { kind: "alone" | "combination"; members: string[]; rejected: string[]; failing_tests: string[]; change_set_id: string }[];
  accepted: string[];
  accepted_change_set_id?: string;
  composes_tried: number;
}

const isDecision = (type: string, identifier: string, context: string) => (m: Seen) =>
  m.topic === "greenwave.decision.update" && m.body["subject_type"] === type && m.body["subject_identifier"] === identifier && m.body["decision_context"] === context;

/** A decision that no longer waits for a result: satisfied, or nothing missing (the tests are done). */
const settled = (type: string, identifier: string, context: string) => (m: Seen) =>
  isDecision(type, identifier, context)(m) && (m.body["policies_satisfied"] === true || !(m.body["unsatisfied_requirements"] as Requirement[]).some((r) => r.type === "test-result-missing"));

const isResult = (m: Seen) => m.topic === "resultsdb.result.new";
const nvrOf = (member: string) => member.replace(/^build:/, "");
const short = (commit: string) => commit.slice(0, 12);
const requirementText = (r: Requirement) => `${r.type} ${r.testcase ?? ""}${r.subject_type === "koji_build" && r.subject_identifier ? ` (${r.subject_identifier})` : ""}`.trim();

function decisionOf(seen: Seen): Decision {
  return seen.body as unknown as Decision;
}

function showDecision(say: (line?: string) => void, gate: string, d: Decision, subject: string): void {
  say(`    ${gate} (${d.subject_type} ${subject}, ${d.decision_context}): ${d.policies_satisfied ? "✓ satisfied" : "✗ not satisfied"}: ${d.summary}`);
  for (const r of d.unsatisfied_requirements) say(`      ✗ ${requirementText(r)}`);
  for (const r of d.satisfied_requirements) if (r.type.startsWith("test-result-")) say(`      ✓ ${requirementText(r)}`);
}

/** The local file of a log the test-runner named under its `artifactsUrl`. */
function logFile(refUrl: string, runs: GatingDeps["testRuns"]): string | undefined {
  const base = new URL(runs.artifactsUrl).href;
  if (!refUrl.startsWith(base)) return undefined;
  return join(runs.dir, ...refUrl.slice(base.length).split("/").map(decodeURIComponent));
}

/** The FAIL lines of a failed test's log (its own test.log when it wrote one, else its output). */
async function failLines(result: Result, runs: GatingDeps["testRuns"]): Promise<{ file: string; lines: string[] } | undefined> {
  const output = result.ref_url ? logFile(result.ref_url, runs) : undefined;
  if (!output) return undefined;
  const own = join(dirname(output), "test.log");
  const file = existsSync(own) ? own : output;
  const text = await readFile(file, "utf8");
  return { file, lines: text.split("\n").filter((l) => /^FAIL\b/.test(l.trim())).map((l) => l.trim()) };
}

async function publishBuild(deps: GatingDeps, nvr: string): Promise<void> {
  const koji = kojiBuildComplete(findBuild(deps.world, nvr));
  await deps.bus.publish(koji.topic, koji.body, { topicPrefix: "org.fedoraproject.prod" });
}

/**
 * (a) The good build: its change set composed again with the gates on; both gates are satisfied.
 * The delivery part runs it (its compose is the one delivered); resolves with its commit.
 */
export async function goodBuild(deps: GatingDeps & { step: number }, out: GatingSummary[]): Promise<string> {
  const { say, watcher, goodCompose } = deps;
  say(`  ${deps.step}. A good build: atomic-ci request rerun ${goodCompose.change_set_id} (${GOOD_BUILD}'s change set, step 1), now with the gates on:`);
  const from = watcher.seen.length;
  await deps.bus.publish("pipeline.operator.request", {
    action: "rerun",
    change_set_id: goodCompose.change_set_id,
    version: "1.0.0",
    generated_at: new Date().toISOString(),
    requested_by: "demo",
    reason: "test the candidate: the gates are on",
  });
  const { queued, outcome } = await watcher.composeOutcome(from, TIMEOUT_MS);
  if (outcome.topic !== "pipeline.compose.complete") throw new Error(`the rerun of ${goodCompose.change_set_id} did not compose: ${String(outcome.body["reason"])}`);
  const commit = String(outcome.body["commit"]);
  say(`    change set ${String(queued.body["change_set_id"])} (rerun of ${goodCompose.change_set_id}) → commit ${short(commit)}; its tests and the host's run in the sandbox`);
  const pkg = decisionOf(await watcher.next(settled("koji_build", GOOD_BUILD, PACKAGE_GATE), from, TIMEOUT_MS));
  showDecision(say, "package gate", pkg, GOOD_BUILD);
  const gate = decisionOf(await watcher.next(settled("compose", commit, COMPOSE_GATE), from, TIMEOUT_MS));
  showDecision(say, "compose gate", gate, short(commit));
  if (!pkg.policies_satisfied) throw new Error(`${GOOD_BUILD} did not pass the package gate: ${pkg.summary}`);
  if (!gate.policies_satisfied) throw new Error(`the compose of ${GOOD_BUILD} did not pass the compose gate: ${gate.summary}`);
  say(`    → ${GOOD_BUILD} passes the package and compose gates: commit ${short(commit)} goes on to its image`);
  const passed = pkg.satisfied_requirements.find((r) => r.type === "test-result-passed");
  out.push({
    case: "good-build",
    change: GOOD_BUILD,
    verdict: "passed",
    decisive_requirement: passed ? { type: passed.type, testcase: passed.testcase ?? "" } : null,
    summary: `package gate: ${pkg.summary}; compose gate: ${gate.summary}`,
  });
  return commit;
}

/** (b) The broken build: composed, tested, rejected at the package gate with its failing test named. */
async function brokenBuild(deps: GatingDeps, out: GatingSummary[]): Promise<{ decision: Decision; commit: string }> {
  const { say, watcher } = deps;
  say(`  4. Gating, a broken build: Koji says ${BROKEN_BUILD} is COMPLETE; composed, then tested on its compose:`);
  const from = watcher.seen.length;
  await publishBuild(deps, BROKEN_BUILD);
  const { outcome } = await watcher.composeOutcome(from, TIMEOUT_MS);
  if (outcome.topic !== "pipeline.compose.complete") throw new Error(`${BROKEN_BUILD} did not compose: ${String(outcome.body["reason"])}`);
  const commit = String(outcome.body["commit"]);
  say(`    change set ${String(outcome.body["change_set_id"])} → commit ${short(commit)}`);
  const pkg = decisionOf(await watcher.next(settled("koji_build", BROKEN_BUILD, PACKAGE_GATE), from, TIMEOUT_MS));
  showDecision(say, "package gate", pkg, BROKEN_BUILD);
  const failed = pkg.unsatisfied_requirements.find((r) => r.type === "test-result-failed");
  if (pkg.policies_satisfied || !failed?.testcase) throw new Error(`${BROKEN_BUILD} was not rejected at the package gate for a failed test: ${pkg.summary}`);

  // The build's summary result names the tests it sums up; the failed ones have their logs.
  const summary = await watcher.next(
    (m) => isResult(m) && (m.body as unknown as Result).testcase.name === failed.testcase && (m.body as unknown as Result).outcome === "FAILED" && ((m.body as unknown as Result).data["item"] ?? []).includes(BROKEN_BUILD),
    from,
    TIMEOUT_MS,
  );
  const tests = new Set((summary.body as unknown as Result).data["summary_of"] ?? []);
  const failing = watcher.seen
    .slice(from)
    .filter(isResult)
    .map((m) => m.body as unknown as Result)
    .filter((r) => tests.has(r.testcase.name) && r.outcome === "FAILED" && (r.data["item"] ?? []).includes(commit));
  if (failing.length === 0) throw new Error(`no failed test of ${BROKEN_BUILD} on ${short(commit)} behind its ${failed.testcase} result`);
  let failLine: string | undefined;
  for (const r of failing) {
    const log = await failLines(r, deps.testRuns);
    say(`    failing test ${r.testcase.name}${r.note ? ` (${r.note})` : ""}`);
    for (const line of log?.lines ?? []) say(`      log: ${line}`);
    if (log) say(`      (${log.file})`);
    failLine ??= log?.lines[0];
  }
  if (!failLine) throw new Error(`the log of ${failing.map((r) => r.testcase.name).join(", ")} has no FAIL line`);
  const gate = decisionOf(await watcher.next(settled("compose", commit, COMPOSE_GATE), from, TIMEOUT_MS));
  showDecision(say, "compose gate", gate, short(commit));
  if (gate.policies_satisfied) throw new Error(`the compose of ${BROKEN_BUILD} passed the compose gate`);
  say(`    → ${BROKEN_BUILD} is rejected: ${failing[0]?.testcase.name ?? failed.testcase} failed (${failLine})`);
  out.push({
    case: "broken-build",
    change: BROKEN_BUILD,
    verdict: "rejected",
    decisive_requirement: { type: failed.type, testcase: failed.testcase },
    summary: `${pkg.summary}: ${failing.map((r) => r.testcase.name).join(", ")} failed (${failLine})`,
  });
  return { decision: pkg, commit };
}

/** (c) A change set of three builds, two of which break only together: the gatekeeper isolates the pair. */
async function brokenCombination(deps: GatingDeps, out: GatingSummary[]): Promise<void> {
  const { say, watcher, world } = deps;
  const nvrs = [...BROKEN_PAIR, GOOD_BUILD];
  say(`  5. Gating, a broken combination: ${nvrs.join(" + ")} as one change set (as a batching window would queue them):`);
  // The good build was queued already (step 1): the trigger-listener would drop it as a duplicate,
  // so the change set is published the way it would publish a batch.
  const members: ChangeSetMember[] = nvrs.map((nvr) => {
    const b = findBuild(world, nvr);
    return { kind: "build", package: b.name, nvr, build_id: b.buildId, source_message_id: `demo-${nvr}`, source_topic: "org.fedoraproject.prod.buildsys.build.state.change" };
  });
  const parent = changeSetIdOf(members);
  const from = watcher.seen.length;
  await deps.bus.publish("pipeline.change-set.queued", {
    change_set_id: parent,
    version: "1.0.0",
    generated_at: new Date().toISOString(),
    reason: "batch",
    members,
    definition: { repo: world.hostDefinition.name, branch: world.hostDefinition.branch },
  });
  const composed = await watcher.next((m) => (m.topic === "pipeline.compose.complete" || m.topic === "pipeline.compose.error") && m.body["change_set_id"] === parent, from, TIMEOUT_MS);
  if (composed.topic !== "pipeline.compose.complete") throw new Error(`the change set ${parent} did not compose: ${String(composed.body["reason"])}`);
  const commit = String(composed.body["commit"]);
  const gate = decisionOf(await watcher.next(settled("compose", commit, COMPOSE_GATE), from, TIMEOUT_MS));
  showDecision(say, "compose gate", gate, short(commit));
  if (gate.policies_satisfied) throw new Error(`the change set ${parent} passed the compose gate: nothing to isolate`);

  say("    the gatekeeper composes subsets of it (reason bisect) until each change is settled:");
  const found = (await watcher.next((m) => m.topic === "pipeline.culprits.found" && m.body["change_set_id"] === parent, from, CULPRITS_TIMEOUT_MS)).body as unknown as CulpritsFound;
  const subsets = watcher.seen.slice(from).filter((m) => m.topic === "pipeline.change-set.queued" && m.body["parent_change_set_id"] === parent);
  for (const s of subsets) {
    const id = String(s.body["change_set_id"]);
    const c = watcher.seen.slice(from).find((m) => m.topic === "pipeline.compose.complete" && m.body["change_set_id"] === id);
    const d = c ? watcher.seen.slice(from).find(settled("compose", String(c.body["commit"]), COMPOSE_GATE)) : undefined;
    const names = (s.body["members"] as ChangeSetMember[]).flatMap((m) => (m.kind === "build" ? [m.nvr] : [])).join(" + ");
    say(`      ${d ? (decisionOf(d).policies_satisfied ? "✓ passes" : "✗ fails ") : "? ......"} ${names}`);
  }

  // Each rejected unit's decisive requirement: what failed on the smallest failing subset's compose.
  const decisive = async (changeSetId: string, nvrsOfUnit: string[]): Promise<Requirement | undefined> => {
    const c = watcher.seen.find((m) => m.topic === "pipeline.compose.complete" && m.body["change_set_id"] === changeSetId);
    if (!c) return undefined;
    const d = decisionOf(await watcher.next(settled("compose", String(c.body["commit"]), COMPOSE_GATE), 0, TIMEOUT_MS));
    const failedOnes = d.unsatisfied_requirements.filter((r) => r.type === "test-result-failed");
    return failedOnes.find((r) => r.subject_type === "koji_build" && nvrsOfUnit.includes(r.subject_identifier ?? "")) ?? failedOnes.find((r) => r.subject_type === "koji_build") ?? failedOnes[0];
  };
  const rejected = new Set<string>();
  const partners = new Map<string, string>();
  for (const culprit of found.culprits) {
    const pair = culprit.members.map(nvrOf);
    say(`    ✗ ${culprit.kind === "combination" ? `broken combination: ${pair.join(" + ")} (each passes without the other)` : `fails alone: ${pair.join(" + ")}`}`);
    say(`      failing: ${culprit.failing_tests.join("; ")}`);
    say(`      rejected: ${culprit.rejected.map(nvrOf).join(", ")}`);
    const requirement = await decisive(culprit.change_set_id, pair);
    for (const member of culprit.rejected.map(nvrOf)) {
      rejected.add(member);
      out.push({
        case: "broken-combination",
        change: member,
        verdict: "culprit",
        decisive_requirement: requirement?.testcase ? { type: requirement.type, testcase: requirement.testcase } : null,
        summary: `${culprit.kind === "combination" ? `broken combination ${pair.join(" + ")}` : "fails alone"}: ${culprit.failing_tests.join("; ")}`,
      });
    }
    if (culprit.kind === "combination") for (const member of pair) if (!culprit.rejected.map(nvrOf).includes(member)) partners.set(member, pair.join(" + "));
  }
  say(`    ✓ accepted: ${found.accepted.map(nvrOf).join(", ")}${found.accepted_change_set_id ? ` (their change set ${found.accepted_change_set_id} passed the compose gate)` : ""}`);
  say(`    ${found.composes_tried} subset compose(s) for ${nvrs.length} changes`);
  for (const member of found.accepted.map(nvrOf)) {
    const partner = partners.get(member);
    out.push({
      case: "broken-combination",
      change: member,
      verdict: "accepted",
      decisive_requirement: null,
      summary: `passes together with the other accepted changes${partner ? ` (named in the broken combination ${partner}; it passes without the rejected one)` : ""}`,
    });
  }

  const combination = found.culprits.find((c) => c.kind === "combination" && BROKEN_PAIR.every((nvr) => c.members.map(nvrOf).includes(nvr)));
  if (!combination) throw new Error(`the culprits of ${parent} do not name ${BROKEN_PAIR.join(" + ")} as a combination`);
  if (!found.accepted.map(nvrOf).includes(GOOD_BUILD) || rejected.has(GOOD_BUILD)) throw new Error(`${GOOD_BUILD} was not accepted out of ${parent}`);
  if (!found.accepted_change_set_id) throw new Error(`the accepted changes of ${parent} were not shown to pass the compose gate together`);
}

/** (d) A waiver of the broken build's failing test, through the gatekeeper's WaiverDB API. */
async function waiver(deps: GatingDeps, broken: { decision: Decision; commit: string }, out: GatingSummary[]): Promise<void> {
  const { say, watcher } = deps;
  const failed = broken.decision.unsatisfied_requirements.find((r) => r.type === "test-result-failed");
  if (!failed?.testcase) throw new Error(`no failed requirement of ${BROKEN_BUILD} to waive`);
  say(`  6. Gating, a waiver: POST ${WAIVERS_PATH} waives ${failed.testcase}${failed.scenario ? ` (scenario ${failed.scenario})` : ""} for koji_build ${BROKEN_BUILD} (a known failure):`);
  const from = watcher.seen.length;
  const res = await fetch(new URL(WAIVERS_PATH, deps.gatekeeperUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      subject_type: "koji_build",
      subject_identifier: BROKEN_BUILD,
      testcase: failed.testcase,
      product_version: broken.decision.product_version,
      comment: "demo: a known failure, accepted for now",
      username: "demo",
      // Waivers match the requirement's scenario exactly, as in WaiverDB/Greenwave (here the result's, `x86_64.bwrap`).
      ...(failed.scenario ? { scenario: failed.scenario } : {}),
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const stored = (await res.json()) as { id?: number; message?: string };
  if (res.status !== 201 || stored.id === undefined) throw new Error(`the gatekeeper refused the waiver (${res.status}): ${stored.message ?? JSON.stringify(stored)}`);
  say(`    waiver ${stored.id} stored (${res.status}); the gatekeeper re-decides:`);
  const pkg = decisionOf(await watcher.next(isDecision("koji_build", BROKEN_BUILD, PACKAGE_GATE), from, TIMEOUT_MS));
  showDecision(say, "package gate", pkg, BROKEN_BUILD);
  const waived = pkg.satisfied_requirements.find((r) => r.type === "test-result-failed-waived" && r.testcase === failed.testcase);
  if (!pkg.policies_satisfied || !waived) throw new Error(`the waiver did not let ${BROKEN_BUILD} through the package gate: ${pkg.summary}`);
  // The compose gate of its compose sees the waived build too, but the host's own tests still fail there.
  const gate = decisionOf(await watcher.next(isDecision("compose", broken.commit, COMPOSE_GATE), from, TIMEOUT_MS));
  showDecision(say, "compose gate", gate, short(broken.commit));
  say(`    → ${BROKEN_BUILD} passes the package gate as waived; its compose stays undeliverable (the waiver covers the build's test only)`);
  out.push({ case: "waiver", change: BROKEN_BUILD, verdict: "waived", decisive_requirement: { type: waived.type, testcase: failed.testcase }, summary: pkg.summary });
}

/**
 * Three gating cases, in order (the good build comes with delivery, ./delivery.ts); each verdict
 * is appended to `out` as soon as it is known (a failure part-way still leaves the earlier ones).
 * Resolves with the broken build's compose commit; throws when something it shows did not happen.
 */
export async function runGatingDemo(deps: GatingDeps, out: GatingSummary[]): Promise<{ brokenCommit: string }> {
  const broken = await brokenBuild(deps, out);
  await brokenCombination(deps, out);
  await waiver(deps, broken, out);
  return { brokenCommit: broken.commit };
}
