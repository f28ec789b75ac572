// The culprit finder's adapter: it follows change sets, their composes and the compose gate's
// decisions, and when a change set of several builds fails the compose gate it runs the pure
// core (core.ts) with an oracle that publishes a `bisect` change set of the subset and waits for
// that compose's gate verdict. The result goes out as `pipeline.culprits.found`.
import type { Decision, Requirement } from "@atomic-ci/gating";
import type { Bus } from "@atomic-ci/bus";
import {
  CHANGE_SET_QUEUED_TOPIC,
  changeSetIdOf,
  CULPRITS_FOUND_TOPIC,
  memberIdentity,
  PIPELINE_SPEC_VERSION,
  type ChangeSetMember,
  type ChangeSetQueued,
  type ComposeComplete,
  type ComposeError,
  type CulpritsFound,
} from "@atomic-ci/messages";
import type { Logger } from "@atomic-ci/telemetry";
import { findCulprits, type Unit, type Verdict } from "./core.js";

export interface CulpritFinderDeps {
  bus: Pick<Bus, "publish">;
  logger: Pick<Logger, "info" | "warn" | "error">;
  now: () => Date;
}

/** Change sets remembered for their members. */
const KEPT = 1000;

/** What a requirement names when it is why a compose failed its gate. */
function describe(r: Requirement): string {
  if ("testcase" in r && r.testcase) return r.subject_type === "compose" ? r.testcase : `${r.testcase} (${r.subject_identifier})`;
  return `${r.type} (${r.subject_identifier})`;
}

/**
 * The compose gate's verdict, once it is final: passed when satisfied; failed when nothing
 * unsatisfied is still missing (queued, running or not reported yet); otherwise undefined.
 */
export function verdictOf(decision: Pick<Decision, "policies_satisfied" | "unsatisfied_requirements">): Verdict | undefined {
  if (decision.policies_satisfied) return { pass: true };
  if (decision.unsatisfied_requirements.some((r) => r.type === "test-result-missing")) return undefined;
  return { pass: false, failing: [...new Set(decision.unsatisfied_requirements.map(describe))] };
}

export class CulpritFinder {
  private readonly changeSets = new Map<string, ChangeSetQueued>();
  /** change set → the commit its compose made, or why it did not compose. */
  private readonly composed = new Map<string, { commit: string } | { error: string }>();
  /** commit → its latest final compose-gate verdict. */
  private readonly verdicts = new Map<string, Verdict>();
  /** change set → who waits for its verdict (the oracle). */
  private readonly waiting = new Map<string, ((v: Verdict) => void)[]>();
  /** Change sets whose culprits are being (or were) looked for. */
  private readonly started = new Set<string>();
  /** Finished searches, for tests and the all-in-one runner. */
  readonly reports: CulpritsFound[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: CulpritFinderDeps) {}

  onChangeSet(changeSet: ChangeSetQueued): void {
    this.changeSets.delete(changeSet.change_set_id);
    this.changeSets.set(changeSet.change_set_id, changeSet);
    for (const key of this.changeSets.keys()) {
      if (this.changeSets.size <= KEPT) break;
      this.changeSets.delete(key);
    }
  }

  onComposeComplete(compose: ComposeComplete): void {
    this.composed.set(compose.change_set_id, { commit: compose.commit });
    this.settle(compose.change_set_id);
  }

  /** A compose failure is the change's fault: a failed verdict. An infrastructure error says nothing about it. */
  onComposeError(error: ComposeError): void {
    if (error.kind !== "compose-failure") return;
    this.composed.set(error.change_set_id, { error: error.reason });
    this.settle(error.change_set_id);
  }

  /** A compose-gate decision on a compose (identified by its commit). */
  onComposeDecision(commit: string, decision: Decision): void {
    const verdict = verdictOf(decision);
    if (!verdict) return;
    this.verdicts.set(commit, verdict);
    for (const [id, c] of this.composed) if ("commit" in c && c.commit === commit) this.settle(id);
  }

  /** Wait for every search started so far (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private verdictFor(changeSetId: string): Verdict | undefined {
    const c = this.composed.get(changeSetId);
    if (!c) return undefined;
    if ("error" in c) return { pass: false, failing: [`compose (${c.error})`] };
    return this.verdicts.get(c.commit);
  }

  private settle(changeSetId: string): void {
    const verdict = this.verdictFor(changeSetId);
    if (!verdict) return;
    const waiters = this.waiting.get(changeSetId) ?? [];
    this.waiting.delete(changeSetId);
    for (const resolve of waiters) resolve(verdict);
    const changeSet = this.changeSets.get(changeSetId);
    if (verdict.pass || !changeSet || changeSet.reason === "bisect" || this.started.has(changeSetId)) return;
    if (builds(changeSet).length < 2) return;
    this.started.add(changeSetId);
    const run = this.find(changeSet, verdict).catch((err: unknown) => this.deps.logger.error({ err, change_set_id: changeSetId }, "culprit finding failed"));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async find(parent: ChangeSetQueued, whole: Extract<Verdict, { pass: false }>): Promise<void> {
    const byKey = new Map(builds(parent).map((m) => [memberIdentity(m), m]));
    // Everything but builds (definition commits, test-only commits) is part of every subset: the base.
    const fixed = parent.members.filter((m) => m.kind !== "build");
    const units: Unit[] = [...byKey.keys()].sort().map((k) => [k]);
    this.deps.logger.info({ change_set_id: parent.change_set_id, units: units.length, failing: whole.failing }, "looking for culprits");
    const subsetIds = new Map<string, string>();
    const report = await findCulprits(units, whole, (keys) => {
      const members = [...fixed, ...keys.map((k) => byKey.get(k)).filter((m): m is ChangeSetMember => m !== undefined)];
      const id = changeSetIdOf(members);
      subsetIds.set(JSON.stringify([...keys].sort()), id);
      return this.ask(parent, members, id);
    });
    const idOf = (keys: readonly string[]) => subsetIds.get(JSON.stringify([...keys].sort())) ?? changeSetIdOf([...fixed, ...keys.map((k) => byKey.get(k)).filter((m): m is ChangeSetMember => m !== undefined)]);
    const body: CulpritsFound = {
      change_set_id: parent.change_set_id,
      version: PIPELINE_SPEC_VERSION,
      generated_at: this.deps.now().toISOString(),
      culprits: report.culprits.map((c) => ({ kind: c.kind, members: c.members, rejected: c.rejected, failing_tests: c.failing, change_set_id: idOf(c.failingSet) })),
      accepted: report.accepted,
      ...(report.acceptedComposed ? { accepted_change_set_id: idOf(report.accepted) } : {}),
      composes_tried: report.composesTried,
    };
    await this.deps.bus.publish(CULPRITS_FOUND_TOPIC, body, { headers: { atomic_ci_change_set: parent.change_set_id } });
    this.reports.push(body);
    this.deps.logger.info({ change_set_id: parent.change_set_id, culprits: body.culprits, accepted: body.accepted, composes_tried: body.composes_tried }, "culprits found");
  }

  /** The oracle: a `bisect` change set of exactly these members, and its compose's gate verdict. */
  private async ask(parent: ChangeSetQueued, members: ChangeSetMember[], id: string): Promise<Verdict> {
    const verdict = new Promise<Verdict>((resolve) => {
      const list = this.waiting.get(id) ?? [];
      list.push(resolve);
      this.waiting.set(id, list);
    });
    const subset: ChangeSetQueued = {
      change_set_id: id,
      version: PIPELINE_SPEC_VERSION,
      generated_at: this.deps.now().toISOString(),
      reason: "bisect",
      members,
      definition: { ...parent.definition },
      parent_change_set_id: parent.change_set_id,
    };
    this.onChangeSet(subset);
    // A verdict already known (the same subset composed before) is not enough: the compose is
    // asked for anyway, so the subset is recorded as a change set of its own, and its
    // compose.complete settles the wait.
    this.composed.delete(id);
    await this.deps.bus.publish(CHANGE_SET_QUEUED_TOPIC, subset, { headers: { atomic_ci_change_set: id } });
    this.deps.logger.info({ change_set_id: id, parent: parent.change_set_id, members: members.map(memberIdentity) }, "asked for a subset compose");
    return verdict;
  }
}

function builds(changeSet: Pick<ChangeSetQueued, "members">): ChangeSetMember[] {
  return changeSet.members.filter((m) => m.kind === "build");
}
