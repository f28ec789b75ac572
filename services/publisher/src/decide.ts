// The decision core of the publisher: pure functions of (policy, now, stream state, holds,
// candidates). Whether one compose may go to one stream now (`decide`), and which compose
// each stream gets in one evaluation (`plan`). No I/O, no clock: everything comes in.
import { GATE_SOURCE, streamOrder, WEEKDAYS, type DeliveryPolicy, type Schedule } from "./policy.js";

export type HoldKind = "gate" | "freeze" | "schedule" | "manual-hold" | "soak" | "incomplete" | "policy" | "config" | "error";

export interface HoldReason {
  kind: HoldKind;
  detail: string;
  /** When this reason ends by itself, when known. */
  until?: Date;
}

export type Decision = { type: "deliver" } | { type: "hold"; reasons: HoldReason[] };

/** What the stream has now: its newest delivery (for one release per window). */
export interface StreamState {
  version?: string;
  commit?: string;
  deliveredAt?: Date;
  /** Ordering key of the compose it got (see CandidateView.order): older candidates are superseded. */
  order?: string;
}

export interface ManualHold {
  reason: string;
  by: string;
  at: Date;
}

export interface GateState {
  satisfied: boolean;
  summary: string;
}

/** A compose as the core sees it. */
export interface CandidateView {
  commit: string;
  /** The release version (the compose's os_version), when known. */
  version?: string;
  /** Sorts candidates oldest first (the commit timestamp, then when it was first seen). */
  order: string;
  /** What is not known yet: `the compose (pipeline.compose.complete)`, `its images (pipeline.image.complete)`. */
  missing: string[];
  /** The newest trusted decision per context. */
  gates: Readonly<Record<string, GateState>>;
  /** stream → when it was delivered there. */
  deliveredTo: Readonly<Record<string, Date>>;
  /** A promotion to this stream failed for good (e.g. the version was released with another commit). */
  failed?: Readonly<Record<string, string>>;
}

export interface DecideInput {
  policy: DeliveryPolicy;
  stream: string;
  now: Date;
  state: StreamState;
  hold?: ManualHold;
  candidate: CandidateView;
  gates: readonly string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Whether `candidate` may be delivered to `stream` now, or every reason it must wait. */
export function decide(input: DecideInput): Decision {
  const { policy, stream, now, state, hold, candidate, gates } = input;
  const spec = policy.streams[stream];
  if (!spec) return { type: "hold", reasons: [{ kind: "policy", detail: `stream ${stream} is not in the delivery policy` }] };
  const reasons: HoldReason[] = [];

  const failed = candidate.failed?.[stream];
  if (failed !== undefined) reasons.push({ kind: "error", detail: failed });
  for (const what of candidate.missing) reasons.push({ kind: "incomplete", detail: `waiting for ${what}` });

  for (const context of gates) {
    const gate = candidate.gates[context];
    if (!gate) reasons.push({ kind: "gate", detail: `no decision at ${context} yet` });
    else if (!gate.satisfied) reasons.push({ kind: "gate", detail: `${context} not satisfied: ${gate.summary}` });
  }

  if (spec.from !== GATE_SOURCE) {
    const since = candidate.deliveredTo[spec.from];
    if (since === undefined) reasons.push({ kind: "soak", detail: `not delivered to ${spec.from} yet` });
    else if (spec.soak !== undefined && now.getTime() - since.getTime() < spec.soak) {
      const until = new Date(since.getTime() + spec.soak);
      reasons.push({ kind: "soak", detail: `in ${spec.from} since ${iso(since)}; ${formatDuration(spec.soak)} of soak needed`, until });
    }
  }

  if (hold) reasons.push({ kind: "manual-hold", detail: `held by ${hold.by} since ${iso(hold.at)}: ${hold.reason}` });

  for (const freeze of policy.freezes) {
    if (freeze.streams && !freeze.streams.includes(stream)) continue;
    if (now.getTime() >= freeze.start.getTime() && now.getTime() < freeze.end.getTime()) {
      reasons.push({ kind: "freeze", detail: `frozen ${iso(freeze.start)} to ${iso(freeze.end)}: ${freeze.reason}`, until: freeze.end });
    }
  }

  if (spec.schedule) {
    const blocked = scheduleBlock(spec.schedule, now, state);
    if (blocked) reasons.push(blocked);
  }

  return reasons.length === 0 ? { type: "deliver" } : { type: "hold", reasons };
}

/** Why the schedule forbids a release at `now` (with the next time it allows one), or undefined. */
export function scheduleBlock(schedule: Schedule, now: Date, state: StreamState): HoldReason | undefined {
  const why: string[] = [];
  if (!allowedAt(schedule, now)) why.push(`outside ${describeSchedule(schedule)}`);
  const last = state.deliveredAt;
  if (schedule.window && last && windowStart(schedule.window, last) === windowStart(schedule.window, now)) {
    why.push(`one release per ${schedule.window}: ${state.version ?? "a release"} went out at ${iso(last)}`);
  }
  if (why.length === 0) return undefined;
  const until = nextOpening(schedule, now, state);
  return { kind: "schedule", detail: why.join("; "), ...(until ? { until } : {}) };
}

/** Days and hours only (not the one-per-window rule). */
export function allowedAt(schedule: Schedule, t: Date): boolean {
  const day = WEEKDAYS[t.getUTCDay()];
  if (day === undefined || !schedule.days.includes(day)) return false;
  const hour = t.getUTCHours();
  const { from, to } = schedule.hours;
  return from < to ? hour >= from && hour < to : hour >= from || hour < to;
}

/** Start (ms since the epoch) of the UTC hour, day or week (from Monday) holding `t`. */
export function windowStart(window: "hour" | "day" | "week", t: Date): number {
  const ms = t.getTime();
  if (window === "hour") return Math.floor(ms / HOUR) * HOUR;
  const day = Math.floor(ms / DAY) * DAY;
  if (window === "day") return day;
  const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
  return day - sinceMonday * DAY;
}

/**
 * The first instant at or after `now` the schedule allows a release: an allowed day and hour,
 * in another window than the last release. Days and hours have hour granularity, so hour
 * boundaries are enough to look at; a week and a day cover every combination.
 */
export function nextOpening(schedule: Schedule, now: Date, state: StreamState): Date | undefined {
  const lastWindow = schedule.window && state.deliveredAt ? windowStart(schedule.window, state.deliveredAt) : undefined;
  const ok = (t: Date) => allowedAt(schedule, t) && (lastWindow === undefined || schedule.window === undefined || windowStart(schedule.window, t) !== lastWindow);
  if (ok(now)) return now;
  let t = Math.floor(now.getTime() / HOUR) * HOUR + HOUR;
  for (let i = 0; i < 15 * 24; i++, t += HOUR) if (ok(new Date(t))) return new Date(t);
  return undefined;
}

export function describeSchedule(schedule: Schedule): string {
  const days = schedule.days.length === 7 ? "every day" : WEEKDAYS.filter((d) => schedule.days.includes(d)).join(",");
  const { from, to } = schedule.hours;
  const hours = from === 0 && to === 24 ? "all day" : `${pad(from)}:00-${pad(to)}:00`;
  return `the release hours (${days}, ${hours} UTC)`;
}

/** What one evaluation does for one stream. */
export interface StreamPlan {
  stream: string;
  /** The compose to deliver now, if any: the newest one allowed. */
  deliver?: CandidateView;
  /** Composes that wait, with their reasons (newer than what the stream has). */
  held: { candidate: CandidateView; reasons: HoldReason[] }[];
  /** Composes the stream will never get: it has (or is about to get) a newer one. */
  superseded: CandidateView[];
}

export interface PlanInput {
  policy: DeliveryPolicy;
  now: Date;
  states: Readonly<Record<string, StreamState>>;
  holds: Readonly<Record<string, ManualHold>>;
  candidates: readonly CandidateView[];
  gates: readonly string[];
}

/**
 * For every stream of the policy (promotion order): among the composes it has not got and
 * that are newer than what it has, deliver the newest one `decide` allows; the older ones are
 * superseded by it, the newer ones are held with their reasons. A compose a promoted stream
 * could get must first be in the stream it is promoted from.
 */
export function plan(input: PlanInput): StreamPlan[] {
  const plans: StreamPlan[] = [];
  const sorted = [...input.candidates].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  for (const stream of streamOrder(input.policy)) {
    const spec = input.policy.streams[stream];
    if (!spec) continue;
    const state = input.states[stream] ?? {};
    const result: StreamPlan = { stream, held: [], superseded: [] };
    const pending: CandidateView[] = [];
    for (const c of sorted) {
      if (c.deliveredTo[stream] !== undefined) continue;
      if (state.order !== undefined && c.order <= state.order) result.superseded.push(c);
      else if (spec.from === GATE_SOURCE || c.deliveredTo[spec.from] !== undefined) pending.push(c);
    }
    const decisions = pending.map((candidate) => ({
      candidate,
      decision: decide({ policy: input.policy, stream, now: input.now, state, candidate, gates: input.gates, ...(input.holds[stream] ? { hold: input.holds[stream] } : {}) }),
    }));
    let chosen = -1;
    for (let i = decisions.length - 1; i >= 0; i--) if (decisions[i]?.decision.type === "deliver") { chosen = i; break; }
    decisions.forEach(({ candidate, decision }, i) => {
      if (chosen >= 0 && i < chosen) result.superseded.push(candidate);
      else if (i === chosen) result.deliver = candidate;
      else if (decision.type === "hold") result.held.push({ candidate, reasons: decision.reasons });
    });
    plans.push(result);
  }
  return plans;
}

/** The same reasons give the same key (the times they end are left out: a held message goes once per set of reasons). */
export function reasonsKey(reasons: readonly HoldReason[]): string {
  return JSON.stringify(reasons.map((r) => `${r.kind}:${r.detail}`).sort());
}

function iso(t: Date): string {
  return t.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

export function formatDuration(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  return `${Math.round(ms / 60_000)}m`;
}
