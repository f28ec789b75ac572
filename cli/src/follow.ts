// What the pipeline did with one operator request (`request compose|rerun --wait`), told by the
// messages on the bus. Pure: messages in, state out; the command feeds it what its private queue
// receives and draws the state (cli/src/commands/request.ts).
import {
  ChangeSetIgnored,
  ChangeSetQueued,
  ComposeComplete,
  ComposeError,
  ComposeQueued,
  GreenwaveDecisionUpdate,
  ImageError,
  ImageQueued,
  ProductmdComposeTestComplete,
  ProductmdComposeTestQueued,
  ReleaseDelivered,
  ReleaseHeld,
  testCaseName,
  topicHasSuffix,
  type GreenwaveRequirement,
} from "@atomic-ci/messages";

/** A message as the command's queue hands it over: routing key (any prefix), headers, decoded body. */
export interface FollowedMessage {
  topic: string;
  headers: Record<string, unknown>;
  body: unknown;
}

/** `gate`: until the compose gate decides (the default); `delivered`: on until a stream has the release. */
export type FollowTarget = "gate" | "delivered";

/** The stages drawn as steps n/N; `ignored`, errors and `held` are said in the detail. */
export const FOLLOW_STEPS = ["queued", "composing", "composed", "tests", "compose gate", "images", "image gate", "delivered"] as const;
export type FollowStep = (typeof FOLLOW_STEPS)[number];

/** The gatekeeper's decision contexts (services/gatekeeper DEFAULT_COMPOSE_GATES). */
export const DEFAULT_CONTEXTS = { compose: "atomic_ci_compose_gate", image: "atomic_ci_image_gate" } as const;

export type TestState = "queued" | "running" | "passed" | "failed" | "errored";

export interface GateView {
  satisfied: boolean;
  summary: string;
  /** Each unsatisfied requirement in plain words. */
  unsatisfied: string[];
  /** Satisfied, or unsatisfied with every test done: the gate will not change by itself. */
  final: boolean;
}

export interface FollowOutcome {
  ok: boolean;
  /** ignored, compose error, compose gate passed/failed, image error, image gate failed, delivered, timeout */
  stage: string;
  reason: string;
}

export interface FollowState {
  requestId: string;
  target: FollowTarget;
  contexts: { compose: string; image: string };
  /** Index into {@link FOLLOW_STEPS} of the furthest stage reached; -1 before the trigger-listener answered. */
  step: number;
  changeSetId?: string;
  composeId?: string;
  commit?: string;
  reused?: boolean;
  /** By the test's pipeline id (unique per compose and test): its latest state. */
  tests: Record<string, { testcase: string; state: TestState }>;
  composeGate?: GateView;
  imageGate?: GateView;
  /** The last image step the image-builder announced. */
  imageStep?: string;
  release?: { event: "held" | "delivered"; stream: string; version: string; reasons: string[] };
  /** What is happening now, for the progress line. */
  detail: string;
  outcome?: FollowOutcome;
}

export function initialFollowState(requestId: string, target: FollowTarget = "gate", contexts: { compose: string; image: string } = DEFAULT_CONTEXTS): FollowState {
  return { requestId, target, contexts, step: -1, tests: {}, detail: "waiting for the trigger-listener" };
}

const is = (topic: string, suffix: string) => topicHasSuffix(suffix, topic);
const short = (commit: string) => commit.slice(0, 12);

/** A requirement the way an operator reads it: whose, which test, what is wrong. */
export function describeRequirement(r: GreenwaveRequirement): string {
  const raw = r as GreenwaveRequirement & { result_state?: unknown; error_reason?: unknown; error?: unknown };
  const whose = r.subject_type && r.subject_type !== "compose" && r.subject_identifier ? `${r.subject_identifier}: ` : "";
  const test = `${r.testcase ?? "?"}${r.scenario ? ` (${r.scenario})` : ""}`;
  switch (r.type) {
    case "test-result-failed":
      return `${whose}${test} failed`;
    case "test-result-errored":
      return `${whose}${test} errored${typeof raw.error_reason === "string" && raw.error_reason ? `: ${raw.error_reason}` : ""}`;
    case "test-result-missing":
      return typeof raw.result_state === "string" ? `${whose}${test} is ${raw.result_state.toLowerCase()}` : `${whose}${test} has no result`;
    case "invalid-gating-yaml":
      return `${whose}its gating.yaml is invalid${r.details ? `: ${r.details}` : ""}`;
    case "missing-gating-yaml":
      return `${whose}its gating.yaml is missing`;
    case "failed-fetch-gating-yaml":
      return `${whose}its gating.yaml could not be fetched${typeof raw.error === "string" ? `: ${raw.error}` : ""}`;
    default:
      return `${whose}${r.type}${r.testcase ? ` ${test}` : ""}`;
  }
}

function pendingTests(state: FollowState): number {
  return Object.values(state.tests).filter((t) => t.state === "queued" || t.state === "running").length;
}

function gateOf(state: FollowState, d: GreenwaveDecisionUpdate): GateView {
  // Results still queued or running are reported as missing: the gate will decide again.
  const waiting = d.unsatisfied_requirements.some((r) => r.type === "test-result-missing");
  return {
    satisfied: d.policies_satisfied,
    summary: d.summary,
    unsatisfied: d.unsatisfied_requirements.map(describeRequirement),
    final: d.policies_satisfied || (!waiting && pendingTests(state) === 0),
  };
}

function testCounts(state: FollowState): string {
  const counts = new Map<TestState, number>();
  for (const t of Object.values(state.tests)) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  const order: TestState[] = ["passed", "failed", "errored", "running", "queued"];
  const parts = order.filter((s) => counts.has(s)).map((s) => `${counts.get(s) ?? 0} ${s}`);
  return parts.length ? parts.join(", ") : "none yet";
}

function reach(state: FollowState, step: FollowStep, detail: string): void {
  state.step = Math.max(state.step, FOLLOW_STEPS.indexOf(step));
  state.detail = detail;
}

function finish(state: FollowState, ok: boolean, stage: string, reason: string): void {
  state.outcome = { ok, stage, reason };
  state.detail = `${stage}: ${reason}`;
}

/** Whether the message is about our compose: its change set (header or body), or its commit or compose id. */
function ours(state: FollowState, m: FollowedMessage, body: { change_set_id?: string | undefined; commit?: string; compose_id?: string }): boolean {
  if (state.changeSetId === undefined) return false;
  if (m.headers["atomic_ci_change_set"] === state.changeSetId || body.change_set_id === state.changeSetId) return true;
  return (state.commit !== undefined && body.commit === state.commit) || (state.composeId !== undefined && body.compose_id === state.composeId);
}

function onDecision(state: FollowState, d: GreenwaveDecisionUpdate): void {
  if (d.subject_type !== "compose" || (d.subject_identifier !== state.commit && d.subject_identifier !== state.composeId)) return;
  if (d.decision_context === state.contexts.compose) {
    const gate = (state.composeGate = gateOf(state, d));
    if (gate.satisfied) {
      reach(state, "compose gate", `compose gate passed: ${gate.summary}`);
      if (state.target === "gate") finish(state, true, "compose gate passed", gate.summary);
    } else if (gate.final) {
      finish(state, false, "compose gate failed", `${gate.summary}: ${gate.unsatisfied.join("; ")}`);
    } else {
      reach(state, "tests", `tests ${testCounts(state)}; compose gate: ${gate.summary}`);
    }
  } else if (d.decision_context === state.contexts.image && state.target === "delivered") {
    const gate = (state.imageGate = gateOf(state, d));
    if (gate.satisfied) reach(state, "image gate", `image gate passed: ${gate.summary}`);
    else if (gate.final) finish(state, false, "image gate failed", `${gate.summary}: ${gate.unsatisfied.join("; ")}`);
    else reach(state, "images", `image tests: ${gate.summary}`);
  }
}

/** The state after one more message; messages about anything else leave it as it was. */
export function followMessage(previous: FollowState, m: FollowedMessage): FollowState {
  if (previous.outcome) return previous;
  const state: FollowState = structuredClone(previous);
  const t = m.topic;
  if (is(t, "pipeline.change-set.ignored")) {
    const b = ChangeSetIgnored.safeParse(m.body);
    if (b.success && b.data.source_message_id === state.requestId) finish(state, false, "ignored", `ignored by the trigger-listener (${b.data.reason_code}): ${b.data.reason}`);
  } else if (is(t, "pipeline.change-set.queued")) {
    const b = ChangeSetQueued.safeParse(m.body);
    if (b.success && state.changeSetId === undefined && b.data.members.some((x) => x.source_message_id === state.requestId)) {
      state.changeSetId = b.data.change_set_id;
      reach(state, "queued", `change set ${b.data.change_set_id} queued${b.data.rerun_of ? ` (re-run of ${b.data.rerun_of})` : ""}`);
    }
  } else if (is(t, "pipeline.compose.queued") || is(t, "pipeline.compose.running")) {
    const b = ComposeQueued.safeParse(m.body);
    if (b.success && b.data.change_set_id === state.changeSetId) {
      state.composeId = b.data.compose_id;
      reach(state, "composing", `compose ${b.data.compose_id} ${is(t, "pipeline.compose.running") ? "running" : "queued"}`);
    }
  } else if (is(t, "pipeline.compose.complete")) {
    const b = ComposeComplete.safeParse(m.body);
    if (b.success && b.data.change_set_id === state.changeSetId) {
      Object.assign(state, { composeId: b.data.compose_id, commit: b.data.commit, reused: b.data.reused });
      reach(state, "composed", `commit ${short(b.data.commit)} ${b.data.os_version}${b.data.reused ? " (reused)" : ""}`);
    }
  } else if (is(t, "pipeline.compose.error")) {
    const b = ComposeError.safeParse(m.body);
    if (b.success && b.data.change_set_id === state.changeSetId) finish(state, false, "compose error", `compose ${b.data.compose_id} failed (${b.data.kind}): ${b.data.reason}`);
  } else if (is(t, "ci.productmd-compose.test.*")) {
    const b = ProductmdComposeTestQueued.safeParse(m.body);
    if (b.success && ours(state, m, { compose_id: b.data.artifact.id })) {
      const complete = ProductmdComposeTestComplete.safeParse(m.body);
      let s: TestState = t.endsWith(".running") ? "running" : "queued";
      if (t.endsWith(".error")) s = "errored";
      else if (t.endsWith(".complete") && complete.success) s = ["failed", "needs_inspection"].includes(complete.data.test.result) ? "failed" : "passed";
      state.tests[b.data.pipeline.id] = { testcase: testCaseName(b.data), state: s };
      reach(state, "tests", `tests ${testCounts(state)}`);
    }
  } else if (is(t, "greenwave.decision.update")) {
    const b = GreenwaveDecisionUpdate.safeParse(m.body);
    if (b.success && state.commit !== undefined) onDecision(state, b.data);
  } else if (is(t, "pipeline.image.*")) {
    const b = ImageQueued.partial({ formats: true }).safeParse(m.body);
    if (b.success && state.commit !== undefined && ours(state, m, b.data)) {
      const step = (m.body as { step?: unknown }).step;
      if (typeof step === "string") state.imageStep = step;
      if (is(t, "pipeline.image.error")) {
        const e = ImageError.safeParse(m.body);
        if (state.target === "delivered") finish(state, false, "image error", `images of ${short(b.data.commit)} failed${e.success ? ` (${e.data.kind}): ${e.data.reason}` : ""}`);
      } else {
        reach(state, "images", is(t, "pipeline.image.complete") ? "images built" : `images: ${state.imageStep ?? "queued"}`);
      }
    }
  } else if (is(t, "pipeline.release.held")) {
    const b = ReleaseHeld.safeParse(m.body);
    if (b.success && state.commit !== undefined && ours(state, m, b.data)) {
      const reasons = b.data.reasons.map((r) => `${r.kind}: ${r.detail}`);
      state.release = { event: "held", stream: b.data.stream, version: b.data.os_version, reasons };
      // Held is not an end: what holds it (tests, images, a freeze) may still pass.
      state.detail = `held from ${b.data.stream}: ${reasons.join("; ")}`;
    }
  } else if (is(t, "pipeline.release.delivered")) {
    const b = ReleaseDelivered.safeParse(m.body);
    if (b.success && state.commit !== undefined && ours(state, m, b.data)) {
      state.release = { event: "delivered", stream: b.data.stream, version: b.data.os_version, reasons: [] };
      reach(state, "delivered", `delivered to ${b.data.stream} as ${b.data.os_version}`);
      if (state.target === "delivered") finish(state, true, "delivered", `delivered to ${b.data.stream} as ${b.data.os_version} (${b.data.ref})`);
    }
  }
  return state;
}

/** The end when nothing decided in time: where it stood. */
export function followTimeout(state: FollowState, seconds: number): FollowState {
  if (state.outcome) return state;
  const where = state.step < 0 ? "no answer from the trigger-listener" : `${FOLLOW_STEPS[state.step] ?? "?"}: ${state.detail}`;
  const next = structuredClone(state);
  finish(next, false, "timeout", `no outcome within ${seconds} s (${where})`);
  return next;
}

/** The `--json` summary of a followed request. */
export function followSummary(state: FollowState): Record<string, unknown> {
  const counts: Partial<Record<TestState, number>> = {};
  for (const t of Object.values(state.tests)) counts[t.state] = (counts[t.state] ?? 0) + 1;
  return {
    ok: state.outcome?.ok ?? false,
    stage: state.outcome?.stage ?? FOLLOW_STEPS[state.step] ?? "waiting",
    reason: state.outcome?.reason ?? state.detail,
    change_set_id: state.changeSetId ?? null,
    compose_id: state.composeId ?? null,
    commit: state.commit ?? null,
    reused: state.reused ?? null,
    tests: counts,
    compose_gate: state.composeGate ?? null,
    image_gate: state.imageGate ?? null,
    release: state.release ?? null,
  };
}
