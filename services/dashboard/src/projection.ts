// The dashboard's projection of the bus: a pure reducer (state + message → state) over the
// messages it binds. Every table is keyed by what identifies the thing (change set id, compose
// id, test case, decision subject and context), so a redelivered message changes nothing and
// messages may arrive in any order: a compose seen before its change set gets a placeholder.
import {
  ChangeSetQueued,
  ComposeComplete,
  ComposeError,
  ComposeQueued,
  ComposeRunning,
  CulpritsFound,
  GreenwaveDecisionUpdate,
  ImageComplete,
  ImageError,
  memberIdentity,
  ProductmdComposeTestComplete,
  ProductmdComposeTestError,
  ProductmdComposeTestQueued,
  ReleaseDelivered,
  ReleaseHeld,
  ReleaseHoldChange,
  ReleaseRolledBack,
  ResultsdbResult,
  testCaseName,
  topicHasSuffix,
  WaiverdbWaiver,
  type ChangeSetMember,
  type GreenwaveRequirement,
} from "@atomic-ci/messages";
import type { z } from "zod";

/** The topics the dashboard shows (what it binds, under any prefix). */
export const DASHBOARD_TOPICS = [
  "pipeline.change-set.queued",
  "pipeline.change-set.ignored",
  "pipeline.compose.queued",
  "pipeline.compose.running",
  "pipeline.compose.complete",
  "pipeline.compose.error",
  "pipeline.image.complete",
  "pipeline.image.error",
  "ci.productmd-compose.test.queued",
  "ci.productmd-compose.test.running",
  "ci.productmd-compose.test.complete",
  "ci.productmd-compose.test.error",
  "resultsdb.result.new",
  "waiverdb.waiver.new",
  "greenwave.decision.update",
  "pipeline.culprits.found",
  "pipeline.release.held",
  "pipeline.release.delivered",
  "pipeline.release.rolled-back",
  "pipeline.release.hold-set",
  "pipeline.release.hold-lifted",
] as const;

export interface Limits {
  maxChangeSets: number;
  maxWaivers: number;
  maxReleasesPerStream: number;
}

export const DEFAULT_LIMITS: Limits = { maxChangeSets: 100, maxWaivers: 50, maxReleasesPerStream: 10 };

/** Decisions kept: a change set's compose gates (two contexts) and its builds' package gates, with room to spare. */
export const maxDecisions = (limits: Limits): number => limits.maxChangeSets * 10;

export interface ChangeSetRow {
  id: string;
  /** False for a placeholder: a compose (or culprit search) named it before its queued message arrived. */
  known: boolean;
  reason?: string;
  /** One line per member: `podman-5.3.0-1.fc41`, `rpms/ostree@6c5b4a3e2d1f (tests)`, ... */
  members: string[];
  /** Member identities (`build:<nvr>`), to join package-gate decisions on builds. */
  identities: string[];
  nvrs: string[];
  queuedAt?: string;
  requestedBy?: string;
  parent?: string;
  rerunOf?: string;
  /** Compose ids, in the order first seen. */
  composes: string[];
  culprits?: { summary: string[]; accepted: string[]; composesTried: number };
}

export type ComposeStateName = "queued" | "running" | "complete" | "error";

export interface ComposeRow {
  composeId: string;
  changeSetId: string;
  state: ComposeStateName;
  at: string;
  ref?: string;
  commit?: string;
  osVersion?: string;
  reused?: boolean;
  error?: { kind: string; reason: string; missingDependency?: string };
  log?: string;
  images?: { formats: string[]; meta?: string } | { error: string };
}

/** Where a test stands: the Fedora CI states, then ResultsDB's outcome once it has one. */
export type TestState = "queued" | "running" | "passed" | "failed" | "error" | "info" | "needs_inspection" | "not_applicable";

export interface TestRow {
  composeId: string;
  testcase: string;
  scenario?: string;
  state: TestState;
  at: string;
  component?: string;
  /** The log (Fedora CI `run.log`, ResultsDB `ref_url`), and the run's page. */
  log?: string;
  url?: string;
  note?: string;
  /** A ResultsDB summary of other tests (`data.summary_of`), which the gates read. */
  summary?: boolean;
}

export interface DecisionRow {
  subjectType: string;
  subjectIdentifier: string;
  context: string;
  productVersion: string;
  satisfied: boolean;
  summary: string;
  unsatisfied: GreenwaveRequirement[];
  at: string;
}

export interface WaiverRow {
  id: number;
  subjectType: string;
  subjectIdentifier: string;
  testcase: string;
  waived: boolean;
  username: string;
  comment: string;
  at: string;
}

export interface HeldRow {
  osVersion: string;
  commit: string;
  changeSetId?: string;
  reasons: { kind: string; detail: string; until?: string }[];
  at: string;
}

export interface DeliveredRow {
  osVersion: string;
  commit: string;
  changeSetId?: string;
  fromStream?: string;
  repo?: string;
  releaseMetadata?: string;
  at: string;
}

export interface StreamRow {
  name: string;
  delivered: DeliveredRow[];
  /** Candidates waiting, by commit. */
  held: Record<string, HeldRow>;
  manualHold?: { by: string; reason: string; at: string };
  rolledBack?: { osVersion: string; withdrawn: string[]; by: string; reason: string; at: string };
}

export interface DashboardState {
  /** Messages applied; the page's version (an event carries it). */
  seq: number;
  updatedAt?: string;
  /** Change set ids, newest first. */
  order: string[];
  changeSets: Record<string, ChangeSetRow>;
  composes: Record<string, ComposeRow>;
  /** `<composeId>|<testcase>|<scenario>` */
  tests: Record<string, TestRow>;
  /** `<subject_type>|<subject_identifier>|<context>` */
  decisions: Record<string, DecisionRow>;
  /** Newest first. */
  waivers: WaiverRow[];
  streams: Record<string, StreamRow>;
  ignored: number;
}

export function emptyState(): DashboardState {
  return { seq: 0, order: [], changeSets: {}, composes: {}, tests: {}, decisions: {}, waivers: [], streams: {}, ignored: 0 };
}

/** What the reducer needs of a bus message. */
export interface ProjectionInput {
  topic: string;
  body: unknown;
  /** `sent-at`, when the message has one: the time of events whose body has none. */
  sentAt?: string;
}

export const decisionKey = (subjectType: string, identifier: string, context: string): string => `${subjectType}|${identifier}|${context}`;
export const testKey = (composeId: string, testcase: string, scenario: string | undefined): string => `${composeId}|${testcase}|${scenario ?? ""}`;

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> | undefined {
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

function memberLine(member: ChangeSetMember): string {
  switch (member.kind) {
    case "build":
      return member.nvr;
    case "dist-git-commit":
      return `${member.repo}@${member.rev.slice(0, 12)} (${member.touches.join(", ")})`;
    case "definition-commit":
      return `definition ${member.repo}@${member.rev.slice(0, 12)}`;
    case "pull-request":
      return `pull request ${member.pr_url}`;
    case "operator-request":
      return `operator ${member.action} by ${member.requested_by}`;
  }
}

function placeholder(id: string): ChangeSetRow {
  return { id, known: false, members: [], identities: [], nvrs: [], composes: [] };
}

/** Put a change set first in the order (new) and forget the oldest past the limit, with what hangs off it. */
function touchChangeSet(state: DashboardState, row: ChangeSetRow, limits: Limits): DashboardState {
  const isNew = !(row.id in state.changeSets);
  let order = isNew ? [row.id, ...state.order] : state.order;
  let changeSets = { ...state.changeSets, [row.id]: row };
  let { composes, tests, decisions } = state;
  if (order.length > limits.maxChangeSets) {
    const dropped = order.slice(limits.maxChangeSets);
    order = order.slice(0, limits.maxChangeSets);
    const droppedComposes = new Set(dropped.flatMap((id) => state.changeSets[id]?.composes ?? []));
    const droppedCommits = new Set([...droppedComposes].map((c) => composes[c]?.commit).filter((c): c is string => c !== undefined));
    changeSets = Object.fromEntries(Object.entries(changeSets).filter(([id]) => !dropped.includes(id)));
    composes = Object.fromEntries(Object.entries(composes).filter(([id]) => !droppedComposes.has(id)));
    // A commit another kept compose reused stays.
    for (const c of Object.values(composes)) if (c.commit) droppedCommits.delete(c.commit);
    const droppedNvrs = new Set(dropped.flatMap((id) => state.changeSets[id]?.nvrs ?? []));
    for (const cs of Object.values(changeSets)) for (const nvr of cs.nvrs) droppedNvrs.delete(nvr);
    tests = Object.fromEntries(Object.entries(tests).filter(([, t]) => !droppedComposes.has(t.composeId)));
    decisions = Object.fromEntries(Object.entries(decisions).filter(([, d]) => !droppedCommits.has(d.subjectIdentifier) && !droppedNvrs.has(d.subjectIdentifier)));
  }
  return { ...state, order, changeSets, composes, tests, decisions };
}

function upsertCompose(state: DashboardState, changeSetId: string, composeId: string, update: (prev: ComposeRow | undefined) => ComposeRow, limits: Limits): DashboardState {
  const row = update(state.composes[composeId]);
  const cs = state.changeSets[changeSetId] ?? placeholder(changeSetId);
  const withCompose = cs.composes.includes(composeId) ? cs : { ...cs, composes: [...cs.composes, composeId] };
  const next = touchChangeSet(state, withCompose, limits);
  // The change set may have been the one forgotten (a compose of a very old change set): then so is the compose.
  if (!(changeSetId in next.changeSets)) return next;
  return { ...next, composes: { ...next.composes, [composeId]: row } };
}

const COMPOSE_RANK: Record<ComposeStateName, number> = { queued: 0, running: 1, complete: 2, error: 2 };

/** A later state never goes back to an earlier one (a late `running` after `complete`). */
function composeState(prev: ComposeRow | undefined, state: ComposeStateName): boolean {
  return !prev || COMPOSE_RANK[state] >= COMPOSE_RANK[prev.state];
}

const FINAL_TEST_STATES = new Set<TestState>(["passed", "failed", "error", "info", "needs_inspection", "not_applicable"]);

function newerOrEqual(at: string, prev: string): boolean {
  const a = Date.parse(at);
  const b = Date.parse(prev);
  return Number.isNaN(a) || Number.isNaN(b) || a >= b;
}

function upsertTest(state: DashboardState, row: TestRow): DashboardState {
  if (!(row.composeId in state.composes)) return state;
  const key = testKey(row.composeId, row.testcase, row.scenario);
  const prev = state.tests[key];
  if (prev) {
    if (!newerOrEqual(row.at, prev.at)) return state;
    // At the same instant the final word wins over "queued" (CI message and ResultsDB result of one run).
    if (row.at === prev.at && FINAL_TEST_STATES.has(prev.state) && !FINAL_TEST_STATES.has(row.state)) return state;
  }
  // What the newer message does not say (a ResultsDB result has no run URL) is kept from the older one.
  const merged = Object.fromEntries(
    Object.entries({ ...prev, ...row, log: row.log ?? prev?.log, url: row.url ?? prev?.url, component: row.component ?? prev?.component, note: row.note ?? prev?.note }).filter(([, v]) => v !== undefined),
  ) as unknown as TestRow;
  return { ...state, tests: { ...state.tests, [key]: merged } };
}

function composeIdOfCommit(state: DashboardState, commit: string): string | undefined {
  // The newest compose that made this commit (a reused commit belongs to several).
  let found: ComposeRow | undefined;
  for (const c of Object.values(state.composes)) if (c.commit === commit && (!found || newerOrEqual(c.at, found.at))) found = c;
  return found?.composeId;
}

function stream(state: DashboardState, name: string): StreamRow {
  return state.streams[name] ?? { name, delivered: [], held: {} };
}

function withStream(state: DashboardState, row: StreamRow): DashboardState {
  return { ...state, streams: { ...state.streams, [row.name]: row } };
}

type Reducer = (state: DashboardState, body: unknown, at: string, limits: Limits) => DashboardState;

const ciTestState = (state: "queued" | "running"): Reducer => (s, body) => {
  const b = parse(ProductmdComposeTestQueued, body);
  if (!b) return s;
  return upsertTest(s, { composeId: b.artifact.id, testcase: testCaseName(b), scenario: b.test.scenario, state, at: b.generated_at, log: b.run.log, url: b.run.url });
};

const REDUCERS: readonly (readonly [string, Reducer])[] = [
  [
    "pipeline.change-set.queued",
    (s, body, at, limits) => {
      const b = parse(ChangeSetQueued, body);
      if (!b) return s;
      const prev = s.changeSets[b.change_set_id] ?? placeholder(b.change_set_id);
      const row: ChangeSetRow = {
        ...prev,
        known: true,
        reason: b.reason,
        members: b.members.map(memberLine),
        identities: b.members.map(memberIdentity),
        nvrs: b.members.flatMap((m) => (m.kind === "build" ? [m.nvr] : [])),
        queuedAt: b.generated_at,
      };
      if (b.requested_by) row.requestedBy = b.requested_by;
      if (b.parent_change_set_id) row.parent = b.parent_change_set_id;
      if (b.rerun_of) row.rerunOf = b.rerun_of;
      return touchChangeSet(s, row, limits);
    },
  ],
  ["pipeline.change-set.ignored", (s) => ({ ...s, ignored: s.ignored + 1 })],
  [
    "pipeline.compose.queued",
    (s, body, at, limits) => {
      const b = parse(ComposeQueued, body);
      if (!b) return s;
      return upsertCompose(s, b.change_set_id, b.compose_id, (prev) => (prev && !composeState(prev, "queued") ? prev : { ...prev, composeId: b.compose_id, changeSetId: b.change_set_id, state: "queued", at: b.generated_at, ...(b.ref ? { ref: b.ref } : {}) }), limits);
    },
  ],
  [
    "pipeline.compose.running",
    (s, body, at, limits) => {
      const b = parse(ComposeRunning, body);
      if (!b) return s;
      return upsertCompose(
        s,
        b.change_set_id,
        b.compose_id,
        (prev) => (prev && !composeState(prev, "running") ? prev : { ...prev, composeId: b.compose_id, changeSetId: b.change_set_id, state: "running", at: b.generated_at, ...(b.log ? { log: b.log } : {}) }),
        limits,
      );
    },
  ],
  [
    "pipeline.compose.complete",
    (s, body, at, limits) => {
      const b = parse(ComposeComplete, body);
      if (!b) return s;
      return upsertCompose(
        s,
        b.change_set_id,
        b.compose_id,
        (prev) => ({ ...prev, composeId: b.compose_id, changeSetId: b.change_set_id, state: "complete", at: b.generated_at, ref: b.ref, commit: b.commit, osVersion: b.os_version, reused: b.reused }),
        limits,
      );
    },
  ],
  [
    "pipeline.compose.error",
    (s, body, at, limits) => {
      const b = parse(ComposeError, body);
      if (!b) return s;
      const error = { kind: b.kind, reason: b.reason, ...(b.missing_dependency ? { missingDependency: b.missing_dependency } : {}) };
      return upsertCompose(
        s,
        b.change_set_id,
        b.compose_id,
        (prev) => ({ ...prev, composeId: b.compose_id, changeSetId: b.change_set_id, state: "error", at: b.generated_at, error, ...(b.log ? { log: b.log } : {}) }),
        limits,
      );
    },
  ],
  [
    "pipeline.image.complete",
    (s, body) => {
      const b = parse(ImageComplete, body);
      const prev = b ? s.composes[b.compose_id] : undefined;
      if (!b || !prev) return s;
      return { ...s, composes: { ...s.composes, [b.compose_id]: { ...prev, images: { formats: Object.keys(b.images).sort(), meta: b.meta.location } } } };
    },
  ],
  [
    "pipeline.image.error",
    (s, body) => {
      const b = parse(ImageError, body);
      const prev = b ? s.composes[b.compose_id] : undefined;
      if (!b || !prev) return s;
      return { ...s, composes: { ...s.composes, [b.compose_id]: { ...prev, images: { error: `${b.kind}: ${b.reason}` } } } };
    },
  ],
  ["ci.productmd-compose.test.queued", ciTestState("queued")],
  ["ci.productmd-compose.test.running", ciTestState("running")],
  [
    "ci.productmd-compose.test.complete",
    (s, body) => {
      const b = parse(ProductmdComposeTestComplete, body);
      if (!b) return s;
      const row: TestRow = { composeId: b.artifact.id, testcase: testCaseName(b), scenario: b.test.scenario, state: b.test.result, at: b.generated_at, log: b.run.log, url: b.run.url };
      if (b.test.output) row.note = b.test.output;
      return upsertTest(s, row);
    },
  ],
  [
    "ci.productmd-compose.test.error",
    (s, body) => {
      const b = parse(ProductmdComposeTestError, body);
      if (!b) return s;
      return upsertTest(s, { composeId: b.artifact.id, testcase: testCaseName(b), scenario: b.test.scenario, state: "error", at: b.generated_at, log: b.run.log, url: b.run.url, note: b.error.reason });
    },
  ],
  [
    "resultsdb.result.new",
    (s, body) => {
      const b = parse(ResultsdbResult, body);
      if (!b) return s;
      const first = (key: string) => b.data[key]?.[0];
      const type = first("type");
      const item = first("item");
      // A result on a compose names it (compose_id), or at least its commit (item, or `compose` for build summaries).
      const composeId = first("compose_id") ?? (type === "compose" && item ? composeIdOfCommit(s, item) : undefined) ?? (first("compose") ? composeIdOfCommit(s, first("compose") ?? "") : undefined);
      if (!composeId) return s;
      const row: TestRow = { composeId, testcase: b.testcase.name, scenario: first("scenario"), state: b.outcome.toLowerCase() as TestState, at: b.submit_time };
      const component = first("component");
      if (component) row.component = component;
      if (b.ref_url) row.log = b.ref_url;
      if (b.note) row.note = b.note;
      if (b.data["summary_of"]) row.summary = true;
      return upsertTest(s, row);
    },
  ],
  [
    "waiverdb.waiver.new",
    (s, body, at, limits) => {
      const b = parse(WaiverdbWaiver, body);
      if (!b) return s;
      const row: WaiverRow = { id: b.id, subjectType: b.subject_type, subjectIdentifier: b.subject_identifier, testcase: b.testcase, waived: b.waived, username: b.username, comment: b.comment, at: b.timestamp };
      const others = s.waivers.filter((w) => w.id !== b.id);
      return { ...s, waivers: [row, ...others].slice(0, limits.maxWaivers) };
    },
  ],
  [
    "greenwave.decision.update",
    (s, body, at, limits) => {
      const b = parse(GreenwaveDecisionUpdate, body);
      if (!b) return s;
      const row: DecisionRow = {
        subjectType: b.subject_type,
        subjectIdentifier: b.subject_identifier,
        context: b.decision_context,
        productVersion: b.product_version,
        satisfied: b.policies_satisfied,
        summary: b.summary,
        unsatisfied: b.unsatisfied_requirements,
        at,
      };
      // Re-inserted last, so the table is in the order decisions last changed: past the cap, the
      // stalest go first (decisions on subjects no kept change set has would otherwise pile up).
      const key = decisionKey(b.subject_type, b.subject_identifier, b.decision_context);
      const { [key]: _previous, ...others } = s.decisions;
      const entries = Object.entries({ ...others, [key]: row });
      return { ...s, decisions: Object.fromEntries(entries.slice(Math.max(0, entries.length - maxDecisions(limits)))) };
    },
  ],
  [
    "pipeline.culprits.found",
    (s, body, _at, limits) => {
      const b = parse(CulpritsFound, body);
      if (!b) return s;
      const prev = s.changeSets[b.change_set_id] ?? placeholder(b.change_set_id);
      const summary = b.culprits.map((c) => `${c.kind === "alone" ? "fails alone" : "fails in combination"}: ${c.rejected.join(", ")}${c.kind === "combination" ? ` (with ${c.members.filter((m) => !c.rejected.includes(m)).join(", ")})` : ""}${c.failing_tests.length ? ` — failing ${c.failing_tests.join(", ")}` : ""}`);
      return touchChangeSet(s, { ...prev, culprits: { summary, accepted: b.accepted, composesTried: b.composes_tried } }, limits);
    },
  ],
  [
    "pipeline.release.held",
    (s, body, at, limits) => {
      const b = parse(ReleaseHeld, body);
      if (!b) return s;
      const st = stream(s, b.stream);
      const row: HeldRow = { osVersion: b.os_version, commit: b.commit, reasons: b.reasons.map((r) => ({ kind: r.kind, detail: r.detail, ...(r.until ? { until: r.until } : {}) })), at: b.generated_at };
      if (b.change_set_id) row.changeSetId = b.change_set_id;
      const held = Object.fromEntries(
        Object.entries({ ...st.held, [b.commit]: row })
          .sort(([, x], [, y]) => Date.parse(y.at) - Date.parse(x.at))
          .slice(0, limits.maxReleasesPerStream),
      );
      return withStream(s, { ...st, held });
    },
  ],
  [
    "pipeline.release.delivered",
    (s, body, at, limits) => {
      const b = parse(ReleaseDelivered, body);
      if (!b) return s;
      const st = stream(s, b.stream);
      const row: DeliveredRow = { osVersion: b.os_version, commit: b.commit, at: b.generated_at, repo: b.public.repo, releaseMetadata: b.public.release_metadata };
      if (b.change_set_id) row.changeSetId = b.change_set_id;
      if (b.from_stream) row.fromStream = b.from_stream;
      const { [b.commit]: _delivered, ...held } = st.held;
      const delivered = [row, ...st.delivered.filter((d) => d.commit !== b.commit)].slice(0, limits.maxReleasesPerStream);
      return withStream(s, { ...st, held, delivered });
    },
  ],
  [
    "pipeline.release.rolled-back",
    (s, body) => {
      const b = parse(ReleaseRolledBack, body);
      if (!b) return s;
      const st = stream(s, b.stream);
      return withStream(s, { ...st, rolledBack: { osVersion: b.os_version, withdrawn: b.withdrawn, by: b.requested_by, reason: b.reason, at: b.generated_at } });
    },
  ],
  [
    "pipeline.release.hold-set",
    (s, body) => {
      const b = parse(ReleaseHoldChange, body);
      if (!b) return s;
      return withStream(s, { ...stream(s, b.stream), manualHold: { by: b.requested_by, reason: b.reason, at: b.generated_at } });
    },
  ],
  [
    "pipeline.release.hold-lifted",
    (s, body) => {
      const b = parse(ReleaseHoldChange, body);
      if (!b) return s;
      const { manualHold: _lifted, ...rest } = stream(s, b.stream);
      return withStream(s, rest);
    },
  ],
];

/**
 * Fold one message into the projection. Unknown topics and bodies that do not match their
 * schema leave it as it was (the consumer already dead-letters invalid messages; this is the
 * second line). Every applied message bumps `seq`.
 */
export function reduce(state: DashboardState, message: ProjectionInput, limits: Limits = DEFAULT_LIMITS, now: () => Date = () => new Date()): DashboardState {
  const entry = REDUCERS.find(([topic]) => topicHasSuffix(topic, message.topic));
  if (!entry) return state;
  const at = message.sentAt ?? now().toISOString();
  const next = entry[1](state, message.body, at, limits);
  if (next === state) return state;
  return { ...next, seq: state.seq + 1, updatedAt: at };
}
