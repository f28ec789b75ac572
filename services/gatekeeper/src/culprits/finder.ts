// The culprit finder's adapter: it follows change sets, their composes and the compose gate's
// decisions, and when a change set of several units (builds, or builds declared together: the
// change set's `units`) fails the compose gate it runs the pure core (core.ts) with an oracle
// that publishes a `bisect` change set of the subset and waits for that compose's gate verdict.
// The result goes out as `pipeline.culprits.found`. What it follows and the answers of a
// running search are in a CulpritStore (Redis when configured): a restarted gatekeeper resumes
// the search where it was.
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
import { MemoryCulpritStore, type CulpritStore } from "../store.js";
import { findCulprits, type Unit, type Verdict } from "./core.js";

export interface CulpritFinderDeps {
  bus: Pick<Bus, "publish">;
  logger: Pick<Logger, "info" | "warn" | "error">;
  now: () => Date;
  /** Default: in memory. */
  store?: CulpritStore;
}

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

/** The units of a change set's builds: each declared unit (`units`) moves as one, every other build alone; ordered by first member. */
export function unitsOf(changeSet: Pick<ChangeSetQueued, "members" | "units">): Unit[] {
  const buildKeys = new Set(builds(changeSet).map(memberIdentity));
  const placed = new Set<string>();
  const units: string[][] = [];
  for (const declared of changeSet.units ?? []) {
    const unit = [...new Set(declared.filter((k) => buildKeys.has(k) && !placed.has(k)))].sort();
    if (unit.length === 0) continue;
    units.push(unit);
    for (const k of unit) placed.add(k);
  }
  for (const k of buildKeys) if (!placed.has(k)) units.push([k]);
  return units.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
}

export class CulpritFinder {
  readonly store: CulpritStore;
  /** change set → who waits for its verdict (a live oracle call). */
  private readonly waiting = new Map<string, ((v: Verdict) => void)[]>();
  /** Finished searches, for tests and the all-in-one runner. */
  readonly reports: CulpritsFound[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: CulpritFinderDeps) {
    this.store = deps.store ?? new MemoryCulpritStore();
  }

  async onChangeSet(changeSet: ChangeSetQueued): Promise<void> {
    await this.store.putChangeSet(changeSet);
  }

  async onComposeComplete(compose: ComposeComplete): Promise<void> {
    await this.store.setComposed(compose.change_set_id, { commit: compose.commit });
    await this.settle(compose.change_set_id);
  }

  /** A compose failure is the change's fault: a failed verdict. An infrastructure error says nothing about it. */
  async onComposeError(error: ComposeError): Promise<void> {
    if (error.kind !== "compose-failure") return;
    await this.store.setComposed(error.change_set_id, { error: error.reason });
    await this.settle(error.change_set_id);
  }

  /** A compose-gate decision on a compose (identified by its commit). */
  async onComposeDecision(commit: string, decision: Decision): Promise<void> {
    const verdict = verdictOf(decision);
    if (!verdict) return;
    await this.store.setVerdict(commit, verdict);
    for (const id of await this.store.composedTo(commit)) await this.settle(id);
  }

  /** Go on with the searches a previous run started and did not finish (after a restart). */
  async resume(): Promise<void> {
    for (const search of await this.store.running()) {
      this.deps.logger.info({ change_set_id: search.parent.change_set_id, answers_known: Object.keys(search.answers).length }, "resuming a culprit search");
      this.launch(search.parent, search.whole, search.answers);
    }
  }

  /** Wait for every search started so far (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async verdictFor(changeSetId: string): Promise<Verdict | undefined> {
    const c = await this.store.getComposed(changeSetId);
    if (!c) return undefined;
    if ("error" in c) return { pass: false, failing: [`compose (${c.error})`] };
    return this.store.getVerdict(c.commit);
  }

  private async settle(changeSetId: string): Promise<void> {
    const verdict = await this.verdictFor(changeSetId);
    if (!verdict) return;
    const waiters = this.waiting.get(changeSetId) ?? [];
    this.waiting.delete(changeSetId);
    for (const resolve of waiters) resolve(verdict);
    if (verdict.pass) return;
    const changeSet = await this.store.getChangeSet(changeSetId);
    if (!changeSet || changeSet.reason === "bisect" || unitsOf(changeSet).length < 2) return;
    if (!(await this.store.startSearch({ parent: changeSet, whole: verdict, answers: {} }))) return;
    this.launch(changeSet, verdict, undefined);
  }

  private launch(parent: ChangeSetQueued, whole: Extract<Verdict, { pass: false }>, known: Record<string, Verdict> | undefined): void {
    const run = this.find(parent, whole, known).catch((err: unknown) => this.deps.logger.error({ err, change_set_id: parent.change_set_id }, "culprit finding failed"));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async find(parent: ChangeSetQueued, whole: Extract<Verdict, { pass: false }>, known: Record<string, Verdict> | undefined): Promise<void> {
    const byKey = new Map(builds(parent).map((m) => [memberIdentity(m), m]));
    // Everything but builds (definition commits, test-only commits) is part of every subset: the base.
    const fixed = parent.members.filter((m) => m.kind !== "build");
    const units = unitsOf(parent);
    this.deps.logger.info({ change_set_id: parent.change_set_id, units: units.length, failing: whole.failing }, "looking for culprits");
    const membersOf = (keys: readonly string[]) => [...fixed, ...keys.map((k) => byKey.get(k)).filter((m): m is ChangeSetMember => m !== undefined)];
    const idOf = (keys: readonly string[]) => changeSetIdOf(membersOf(keys));
    const report = await findCulprits(units, whole, (keys) => this.ask(parent, membersOf(keys), idOf(keys), known !== undefined), {
      ...(known ? { known } : {}),
      onAnswer: (key, verdict) => this.store.recordAnswer(parent.change_set_id, key, verdict),
    });
    const body: CulpritsFound = {
      change_set_id: parent.change_set_id,
      version: PIPELINE_SPEC_VERSION,
      generated_at: this.deps.now().toISOString(),
      culprits: report.culprits.map((c) => ({ kind: c.kind, members: c.members, rejected: c.rejected, failing_tests: c.failing, change_set_id: idOf(c.failingSet) })),
      accepted: report.accepted,
      ...(report.acceptedComposed ? { accepted_change_set_id: idOf(report.accepted) } : {}),
      composes_tried: report.composesTried,
      cycles: report.rounds,
    };
    await this.deps.bus.publish(CULPRITS_FOUND_TOPIC, body, { headers: { atomic_ci_change_set: parent.change_set_id } });
    await this.store.finishSearch(parent.change_set_id, body);
    this.reports.push(body);
    this.deps.logger.info({ change_set_id: parent.change_set_id, culprits: body.culprits, accepted: body.accepted, composes_tried: body.composes_tried, cycles: body.cycles }, "culprits found");
  }

  /**
   * The oracle: a `bisect` change set of exactly these members, and its compose's gate verdict.
   * In a resumed search a subset may have been asked before the restart: when its compose is
   * known it is waited for (or its verdict taken), not asked again.
   */
  private async ask(parent: ChangeSetQueued, members: ChangeSetMember[], id: string, resumed: boolean): Promise<Verdict> {
    const verdict = new Promise<Verdict>((resolve) => {
      const list = this.waiting.get(id) ?? [];
      list.push(resolve);
      this.waiting.set(id, list);
    });
    if (resumed && (await this.store.getComposed(id))) {
      await this.settle(id);
      return verdict;
    }
    const subset: ChangeSetQueued = {
      change_set_id: id,
      version: PIPELINE_SPEC_VERSION,
      generated_at: this.deps.now().toISOString(),
      reason: "bisect",
      members,
      definition: { ...parent.definition },
      parent_change_set_id: parent.change_set_id,
    };
    await this.store.putChangeSet(subset);
    // A verdict already known (the same subset composed before) is not enough: the compose is
    // asked for anyway, so the subset is recorded as a change set of its own, and its
    // compose.complete settles the wait.
    await this.store.forgetComposed(id);
    await this.deps.bus.publish(CHANGE_SET_QUEUED_TOPIC, subset, { headers: { atomic_ci_change_set: id } });
    this.deps.logger.info({ change_set_id: id, parent: parent.change_set_id, members: members.map(memberIdentity) }, "asked for a subset compose");
    return verdict;
  }
}

function builds(changeSet: Pick<ChangeSetQueued, "members">): ChangeSetMember[] {
  return changeSet.members.filter((m) => m.kind === "build");
}
