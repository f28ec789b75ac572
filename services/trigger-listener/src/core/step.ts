import {
  changeSetIdOf,
  memberIdentity,
  PIPELINE_SPEC_VERSION,
  type ChangeSetIgnored,
  type ChangeSetMember,
  type ChangeSetQueued,
} from "@atomic-ci/messages";
import { classify } from "./classify.js";
import type { Ignore } from "./classified.js";
import { refsOf } from "./depends-on.js";
import type { PendingChange, StepResult, TriggerInput, TriggerOutput, TriggerPorts, TriggerRules, TriggerState } from "./types.js";

/**
 * The trigger-listener's decision for one upstream message: the new state and what to
 * publish. Pure: the same state, message, rules and clock give the same result.
 */
export function step(state: TriggerState, input: TriggerInput, rules: TriggerRules, ports: TriggerPorts): StepResult {
  const run = new Run(state, rules, ports.now());
  const classified = classify(input, { rules, host: ports.hostPackages() });
  if (classified.kind === "ignore") run.ignore(input, classified);
  else if (classified.kind === "rerun") {
    const original = run.state.queued[classified.changeSetId];
    if (!original) {
      run.ignore(input, { kind: "ignore", code: "unknown-change-set", reason: `no change set ${classified.changeSetId} within the retention` });
    } else {
      const members = [...original.members.filter((m) => m.kind !== "operator-request"), classified.member];
      run.emit([{ members, reason: "operator", dependsOn: [], arrivedAt: run.nowIso, requestedBy: classified.requestedBy, rerunOf: classified.changeSetId }]);
    }
  } else {
    const known = classified.change.members.map((m) => run.known(memberIdentity(m)));
    if (known.every((k) => k !== undefined)) {
      const id = known.find((k) => k !== "pending");
      const where = id ? `change set ${id}` : "a change set not yet queued";
      run.ignore(input, { kind: "ignore", code: "duplicate", reason: `already in ${where}`, ...memberWhere(classified.change.members[0]) }, id);
    } else {
      const pending: PendingChange = { ...classified.change, arrivedAt: run.nowIso };
      if (classified.immediate) run.emit([pending]);
      else run.admit(pending);
    }
  }
  return { state: run.state, outputs: run.outputs };
}

/**
 * Time passing: closes the batching window when it is due, and lets changes that waited for
 * a Depends-On longer than the retention go alone rather than never.
 */
export function tick(state: TriggerState, rules: TriggerRules, ports: TriggerPorts): StepResult {
  const run = new Run(state, rules, ports.now());
  const expired = run.state.waiting.filter((w) => run.now - Date.parse(w.arrivedAt) >= rules.retentionMs);
  run.state.waiting = run.state.waiting.filter((w) => !expired.includes(w));
  for (const w of expired) run.release({ ...w, dependsOn: [] });
  const due = batchDueAt(run.state, rules);
  if (run.state.batch && due !== undefined && run.now >= due) {
    const { changes } = run.state.batch;
    run.state.batch = null;
    run.emit(changes);
  }
  return { state: run.state, outputs: run.outputs };
}

/** When the open batching window closes (ms since the epoch), if one is open. */
export function batchDueAt(state: TriggerState, rules: TriggerRules): number | undefined {
  return state.batch ? Date.parse(state.batch.openedAt) + rules.batchWindowMs : undefined;
}

function memberWhere(member: ChangeSetMember | undefined): Partial<Ignore> {
  if (!member) return {};
  const out: Partial<Ignore> = {};
  if ("package" in member && typeof member.package === "string") out.package = member.package;
  if (member.kind === "build") out.nvr = member.nvr;
  if ("repo" in member && typeof member.repo === "string") out.repo = member.repo;
  if ("branch" in member && typeof member.branch === "string") out.branch = member.branch;
  return out;
}

/** One step's working copy of the state and the outputs it collects. */
class Run {
  readonly state: TriggerState;
  readonly outputs: TriggerOutput[] = [];
  readonly now: number;
  readonly nowIso: string;

  constructor(
    state: TriggerState,
    private readonly rules: TriggerRules,
    now: Date,
  ) {
    this.state = structuredClone(state);
    this.now = now.getTime();
    this.nowIso = now.toISOString();
    // Forget change sets past the retention: duplicates are only caught within it.
    this.state.queued = Object.fromEntries(Object.entries(this.state.queued).filter(([, entry]) => this.now - Date.parse(entry.at) < rules.retentionMs));
  }

  ignore(input: TriggerInput, why: Ignore, changeSetId?: string): void {
    const body: ChangeSetIgnored = {
      version: PIPELINE_SPEC_VERSION,
      generated_at: this.nowIso,
      source_message_id: input.id,
      source_topic: input.topic,
      reason_code: why.code,
      reason: why.reason,
    };
    for (const key of ["package", "nvr", "repo", "branch"] as const) {
      const value = why[key];
      if (value) body[key] = value;
    }
    if (changeSetId) body.change_set_id = changeSetId;
    this.outputs.push({ type: "ignored", body });
  }

  /** The change set a member identity already went out in, `pending` if it is held, else undefined. */
  known(identity: string): string | undefined {
    for (const [id, entry] of Object.entries(this.state.queued)) {
      if (entry.members.some((m) => memberIdentity(m) === identity)) return id;
    }
    const held = [...this.state.waiting, ...(this.state.batch?.changes ?? [])];
    return held.some((c) => c.members.some((m) => memberIdentity(m) === identity)) ? "pending" : undefined;
  }

  /** A new change: join it with the waiting changes it is linked to by Depends-On, then release or hold it. */
  admit(change: PendingChange): void {
    let group = change;
    for (let linked = this.linkedWaiting(group); linked; linked = this.linkedWaiting(group)) {
      this.state.waiting = this.state.waiting.filter((w) => w !== linked);
      group = mergeChanges(group, linked);
    }
    const missing: string[] = [];
    const batchRefs = new Set((this.state.batch?.changes ?? []).flatMap((c) => c.members.flatMap(refsOf)));
    for (const ref of group.dependsOn) {
      const queued = Object.values(this.state.queued).find((q) => q.members.some((m) => refsOf(m).includes(ref)));
      // Already went out alone: this change set carries it again, so the two are tested together.
      if (queued) group = { ...group, members: unionMembers(group.members, queued.members) };
      else if (!batchRefs.has(ref)) missing.push(ref);
    }
    if (missing.length > 0) {
      this.state.waiting.push({ ...group, dependsOn: missing });
      this.outputs.push({ type: "held", why: "waiting-for-depends-on", members: group.members.map(memberIdentity), missing });
      return;
    }
    this.release({ ...group, dependsOn: [] });
  }

  private linkedWaiting(group: PendingChange): PendingChange | undefined {
    const provides = new Set(group.members.flatMap(refsOf));
    return this.state.waiting.find(
      (w) => w.dependsOn.some((ref) => provides.has(ref)) || w.members.some((m) => refsOf(m).some((ref) => group.dependsOn.includes(ref))),
    );
  }

  /** Ready to go: out now, or into the batching window. */
  release(change: PendingChange): void {
    if (this.rules.batchWindowMs === 0) {
      this.emit([change]);
      return;
    }
    this.state.batch ??= { openedAt: this.nowIso, changes: [] };
    this.state.batch.changes.push(change);
    this.outputs.push({ type: "held", why: "batching", members: change.members.map(memberIdentity) });
  }

  emit(changes: readonly PendingChange[]): void {
    const first = changes[0];
    if (!first) return;
    const members = changes.reduce<ChangeSetMember[]>((all, c) => unionMembers(all, c.members), []);
    members.sort((a, b) => compare(memberIdentity(a), memberIdentity(b)));
    const definitionRev = [...members].reverse().find((m) => m.kind === "definition-commit")?.rev;
    const body: ChangeSetQueued = {
      change_set_id: changeSetIdOf(members),
      version: PIPELINE_SPEC_VERSION,
      generated_at: this.nowIso,
      reason: changes.length === 1 ? first.reason : "batch",
      members,
      definition: { repo: this.rules.definitionRepo, branch: this.rules.branch, ...(definitionRev ? { rev: definitionRev } : {}) },
    };
    // Changes declared together (a Bodhi update's builds, commits joined by Depends-On) stay one unit for culprit finding.
    const units = changes.filter((c) => c.members.length > 1).map((c) => c.members.map(memberIdentity).sort());
    if (units.length > 0) body.units = units;
    const requestedBy = changes.find((c) => c.requestedBy)?.requestedBy;
    if (requestedBy) body.requested_by = requestedBy;
    if (first.rerunOf) body.rerun_of = first.rerunOf;
    this.state.queued[body.change_set_id] = { members, at: this.nowIso };
    this.outputs.push({ type: "queued", body });
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function unionMembers(a: readonly ChangeSetMember[], b: readonly ChangeSetMember[]): ChangeSetMember[] {
  const seen = new Set(a.map(memberIdentity));
  return [...a, ...b.filter((m) => !seen.has(memberIdentity(m)))];
}

/** Two changes linked by Depends-On become one: what either still needs, minus what either provides. */
function mergeChanges(a: PendingChange, b: PendingChange): PendingChange {
  const members = unionMembers(a.members, b.members);
  const provides = new Set(members.flatMap(refsOf));
  const merged: PendingChange = {
    members,
    reason: a.reason === b.reason ? a.reason : "batch",
    dependsOn: [...new Set([...a.dependsOn, ...b.dependsOn])].filter((ref) => !provides.has(ref)).sort(),
    arrivedAt: a.arrivedAt < b.arrivedAt ? a.arrivedAt : b.arrivedAt,
  };
  const requestedBy = a.requestedBy ?? b.requestedBy;
  if (requestedBy) merged.requestedBy = requestedBy;
  return merged;
}
