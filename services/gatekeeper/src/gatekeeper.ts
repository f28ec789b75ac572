// The gatekeeper's core: results and waivers in, re-decisions out. A result or waiver marks
// the subjects it touches; marked subjects are re-decided in *passes*: the subjects marked
// within a short window (and while a pass runs) are collected, deduplicated and decided once
// each, in the order they were first marked, and `greenwave.decision.update` is published
// only when a decision changed (with `previous`). Passes run one at a time, so `previous` is
// always the decision published before.
import { decide, decisionUpdate, parseDecisionRequest, type DecideOutcome, type Decision, type DecisionPorts, type Policy, type RemoteGatingYaml, type Subject } from "@atomic-ci/gating";
import { GREENWAVE_DECISION_UPDATE_TOPIC, WAIVERDB_WAIVER_NEW_TOPIC, type GreenwaveDecisionUpdate, type ResultsdbResult, type WaiverdbWaiver } from "@atomic-ci/messages";
import type { Bus } from "@atomic-ci/bus";
import type { Logger } from "@atomic-ci/telemetry";
import { composesOfResult, memoryStores, ResultView, subjectKey, subjectsOfResult, type GatekeeperStores } from "./store.js";

/** The default compose gates: the tree's tests, then the booted image's (docs/gating.md). */
export const DEFAULT_COMPOSE_GATES: readonly string[] = ["atomic_ci_compose_gate", "atomic_ci_image_gate"];

export interface GatekeeperSettings {
  productVersion: string;
  contexts: {
    /** The package gate (koji_build subjects). */
    package: string;
    /** The compose gate whose decision judges a compose with its builds' package gates (and drives culprit finding). */
    compose: string;
    /** Every context compose subjects are decided at (`compose` is always one of them, first). */
    composeGates?: readonly string[];
  };
  /** How long marked subjects are collected before a pass starts (ms). Default 0: as soon as the event loop is free. */
  batchWindowMs?: number;
}

export interface GatekeeperDeps {
  bus: Pick<Bus, "publish">;
  settings: GatekeeperSettings;
  policies: readonly Policy[];
  /** The `!RemoteRule` port (dist-git); see DistGit. */
  remoteGatingYaml(subject: Subject): Promise<RemoteGatingYaml>;
  logger: Pick<Logger, "info" | "debug" | "warn">;
  now: () => Date;
  /** Where results, waivers and decisions are kept. Default: in memory. */
  stores?: GatekeeperStores;
  /** Told every compose-gate decision computed (changed or not): the culprit finder's input. */
  onComposeDecision?: (compose: string, decision: Decision) => void | Promise<void>;
}

/** What `POST /api/v1.0/waivers` takes (WaiverDB's fields). */
export interface WaiverInput {
  subject_type: string;
  subject_identifier: string;
  testcase: string;
  product_version: string;
  waived: boolean;
  comment: string;
  username: string;
  scenario?: string | null;
}

interface Waiter {
  keys: ReadonlySet<string>;
  resolve: (updates: GreenwaveDecisionUpdate[]) => void;
  reject: (err: unknown) => void;
}

/** What the bus handler hands to `receive`. */
export type StoredInput = { result: ResultsdbResult } | { waiver: WaiverdbWaiver };

/** Longest message text a log line repeats: a hostile 1 MiB testcase name must not become a 1 MiB log line. */
const LOG_TEXT_MAX = 160;
/** How many touched subjects a log line names (a result may list thousands of items). */
const LOG_SUBJECTS_MAX = 5;

function brief(text: string): string {
  return text.length <= LOG_TEXT_MAX ? text : `${text.slice(0, LOG_TEXT_MAX)}…(${text.length} chars)`;
}

/**
 * The one log line per stored result or waiver: what was stored and which subjects it marked.
 * Ids, names and outcome only — never a waiver's comment or a result's note or data, and every
 * string cut short (they come from the message).
 */
export function storedLogLine(input: StoredInput, touched: readonly Subject[]): { fields: Record<string, unknown>; msg: string } {
  const subjects = touched.slice(0, LOG_SUBJECTS_MAX).map((s) => brief(`${s.type}:${s.identifier}`));
  const marked = { subjects, ...(touched.length > LOG_SUBJECTS_MAX ? { subjects_total: touched.length } : {}) };
  if ("result" in input) {
    const r = input.result;
    return { fields: { result_id: r.id, testcase: brief(r.testcase.name), outcome: r.outcome, ...marked }, msg: "result stored" };
  }
  const w = input.waiver;
  return {
    fields: { waiver_id: w.id, subject: brief(`${w.subject_type}:${w.subject_identifier}`), testcase: brief(w.testcase), product_version: brief(w.product_version), waived: w.waived, ...marked },
    msg: w.waived ? "waiver stored" : "waiver revocation stored",
  };
}

/** After a failed pass (a store or the bus away), its subjects are tried again this much later. */
const RETRY_MS = 1000;

export class Gatekeeper {
  readonly stores: GatekeeperStores;
  /** Subjects marked and not yet taken by a pass, in marking order. */
  private readonly queued = new Map<string, Subject>();
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private passing: Promise<void> | undefined;
  private stopped = false;
  /** Passes run so far, and subject decisions made in them (for tests and the benchmark). */
  readonly stats = { passes: 0, decided: 0 };
  /** The server policies in force (replaced when the definition's policies change). */
  private policies: readonly Policy[];

  constructor(private readonly deps: GatekeeperDeps) {
    this.stores = deps.stores ?? memoryStores();
    this.policies = deps.policies;
  }

  /** Decide with these policies from now on (a new commit of the definition's policies/). */
  setPolicies(policies: readonly Policy[]): void {
    this.policies = policies;
  }

  /** Decide what an earlier run marked and did not decide (a restart between a result and its pass). */
  async start(): Promise<void> {
    const pending = await this.stores.decisions.pending();
    if (pending.length === 0) return;
    this.deps.logger.info({ subjects: pending.length }, "re-deciding subjects marked before the restart");
    void this.enqueue(pending.map((p) => p.subject)).catch(() => undefined);
  }

  /** Stop taking new passes and wait for the running one (shutdown). Marked subjects stay marked in the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.passing;
    for (const w of this.waiters.splice(0)) w.reject(new Error("gatekeeper stopped"));
  }

  /** Wait until nothing is queued or being decided (tests). */
  async idle(): Promise<void> {
    while (this.passing || this.timer || (this.queued.size > 0 && !this.stopped)) {
      if (this.passing) await this.passing;
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The decision ports, over one pass's view of the results and waivers when given. `onCompose` restricts builds' results to that compose (the compose gate). */
  ports(view?: ResultView, waivers?: readonly WaiverdbWaiver[], onCompose?: string): DecisionPorts {
    return {
      policies: this.policies,
      // Without a pass's view, every read is fresh (a long-lived port must not serve old results).
      results: (subject, testcase) => (view ?? new ResultView(this.stores.results)).forSubject(subject, testcase, subject.type === "koji_build" ? onCompose : undefined),
      waivers: async (subject, pv) =>
        (waivers ?? (await this.stores.waivers.all())).filter((w) => w.subject_type === subject.type && w.subject_identifier === subject.identifier && w.product_version === pv),
      remoteGatingYaml: (subject) => this.deps.remoteGatingYaml(subject),
      now: this.deps.now,
    };
  }

  /**
   * Decide a Greenwave request. A compose subject at the compose gate is judged with its host
   * package builds: each build's own gating requirements, on results made on that compose.
   */
  async decide(body: unknown): Promise<DecideOutcome> {
    return this.decideWith(body, new ResultView(this.stores.results), await this.stores.waivers.all());
  }

  private async decideWith(body: unknown, view: ResultView, waivers?: readonly WaiverdbWaiver[]): Promise<DecideOutcome> {
    const parsed = parseDecisionRequest(body);
    if (!parsed.ok) return parsed;
    const { compose } = this.deps.settings.contexts;
    const composes = parsed.value.subjects.filter((s) => s.type === "compose");
    if (composes.length !== 1 || parsed.value.subjects.length !== 1 || !parsed.value.decision_contexts?.includes(compose)) return decide(body, this.ports(view, waivers));
    const [subject] = composes as [Subject];
    const members = (await view.composeMembers(subject.identifier)).map((item) => ({ type: "koji_build", item }));
    const { subject_type: _t, subject_identifier: _i, ...rest } = body as Record<string, unknown>;
    const expanded = {
      ...rest,
      subject: [{ type: subject.type, item: subject.identifier }, ...members],
      decision_context: [...new Set([...parsed.value.decision_contexts, this.deps.settings.contexts.package])],
    };
    return decide(expanded, this.ports(view, waivers, subject.identifier));
  }

  /** A `resultsdb.result.new` body: index it and mark its subjects and the composes it ran on; resolves once they are decided. */
  async onResult(result: ResultsdbResult): Promise<GreenwaveDecisionUpdate[]> {
    return this.enqueue(await this.recordResult(result));
  }

  /** A `waiverdb.waiver.new` body (or one made by the API): store it, mark its subject (and composes holding a waived build); resolves once decided. */
  async onWaiver(waiver: WaiverdbWaiver): Promise<GreenwaveDecisionUpdate[]> {
    return this.enqueue(await this.recordWaiver(waiver));
  }

  /**
   * The bus handler's way in: store and mark, then return without waiting for the pass, so the
   * messages arriving meanwhile join it. The marks are in the store: a pass that fails or a
   * restart before it decides them later.
   */
  async receive(input: StoredInput): Promise<Subject[]> {
    const subjects = "result" in input ? await this.recordResult(input.result) : await this.recordWaiver(input.waiver);
    void this.enqueue(subjects).catch(() => undefined);
    return subjects;
  }

  private async recordResult(result: ResultsdbResult): Promise<Subject[]> {
    await this.stores.results.add(result);
    const subjects = subjectsOfResult(result);
    const composes = [...composesOfResult(result), ...subjects.filter((s) => s.type === "compose").map((s) => s.identifier)];
    const touched = [...subjects.filter((s) => s.type !== "compose"), ...composes.map((identifier) => ({ type: "compose", identifier }))];
    await this.stores.decisions.markPending(touched);
    return touched;
  }

  private async recordWaiver(waiver: WaiverdbWaiver): Promise<Subject[]> {
    await this.stores.waivers.add(waiver);
    const subject = { type: waiver.subject_type, identifier: waiver.subject_identifier };
    const composes = subject.type === "koji_build" ? await new ResultView(this.stores.results).composesOf(subject.identifier) : [];
    const touched = [subject, ...composes.map((identifier) => ({ type: "compose", identifier }))];
    await this.stores.decisions.markPending(touched);
    return touched;
  }

  /** `POST /api/v1.0/waivers`: store the waiver, publish `waiverdb.waiver.new`, re-decide. */
  async submitWaiver(input: WaiverInput): Promise<WaiverdbWaiver> {
    const waiver: WaiverdbWaiver = {
      id: await this.stores.waivers.nextId(),
      subject_type: input.subject_type,
      subject_identifier: input.subject_identifier,
      subject: { type: input.subject_type, item: input.subject_identifier },
      testcase: input.testcase,
      product_version: input.product_version,
      waived: input.waived,
      comment: input.comment,
      username: input.username,
      proxied_by: null,
      scenario: input.scenario ?? null,
      timestamp: this.deps.now().toISOString(),
    };
    await this.stores.waivers.add(waiver);
    await this.deps.bus.publish(WAIVERDB_WAIVER_NEW_TOPIC, waiver);
    await this.onWaiver(waiver);
    return waiver;
  }

  /** The gating points a subject type is decided at. */
  private contextsOf(subject: Subject): string[] {
    const { contexts } = this.deps.settings;
    if (subject.type === "koji_build") return [contexts.package];
    if (subject.type === "compose") return [...new Set([contexts.compose, ...(contexts.composeGates ?? [])])];
    return [];
  }

  /** Queue subjects for the next pass; resolves with the updates published for them. */
  private enqueue(subjects: readonly Subject[]): Promise<GreenwaveDecisionUpdate[]> {
    const keys = new Set<string>();
    for (const subject of subjects) {
      const key = subjectKey(subject);
      keys.add(key);
      if (!this.queued.has(key)) this.queued.set(key, subject);
    }
    const done = new Promise<GreenwaveDecisionUpdate[]>((resolve, reject) => this.waiters.push({ keys, resolve, reject }));
    this.schedule(this.deps.settings.batchWindowMs ?? 0);
    return done;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.passing || this.timer || this.queued.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.startPass();
    }, delayMs);
  }

  private startPass(): void {
    const subjects = [...this.queued.values()];
    this.queued.clear();
    const waiters = this.waiters;
    this.waiters = [];
    let retryMs: number | undefined;
    this.passing = this.pass(subjects)
      .then(
        (updates) => {
          for (const w of waiters) w.resolve(updates.filter((u) => w.keys.has(subjectKey({ type: u.subject_type, identifier: u.subject_identifier }))));
        },
        (err: unknown) => {
          this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err), subjects: subjects.length }, "decision pass failed; its subjects stay marked and are tried again");
          for (const w of waiters) w.reject(err);
          for (const s of subjects) if (!this.queued.has(subjectKey(s))) this.queued.set(subjectKey(s), s);
          retryMs = RETRY_MS;
        },
      )
      .finally(() => {
        this.passing = undefined;
        this.schedule(retryMs ?? 0);
      });
  }

  /** Decide each subject once at each of its gating points; publish what changed, in order. */
  private async pass(subjects: readonly Subject[]): Promise<GreenwaveDecisionUpdate[]> {
    const keys = new Set(subjects.map(subjectKey));
    // Marks read before the results: whatever result a mark stands for is in the view below.
    const marks = (await this.stores.decisions.pending()).filter((p) => keys.has(subjectKey(p.subject)));
    const view = new ResultView(this.stores.results);
    const waivers = await this.stores.waivers.all();
    const published: GreenwaveDecisionUpdate[] = [];
    this.stats.passes++;
    // Builds before composes (a compose's decision folds its builds' in), else in marking order.
    const ordered = [...subjects.filter((s) => s.type !== "compose"), ...subjects.filter((s) => s.type === "compose")];
    for (const subject of ordered) {
      this.stats.decided++;
      for (const context of this.contextsOf(subject)) {
        const update = await this.redecideOne(subject, context, view, waivers);
        if (update) published.push(update);
      }
    }
    await this.stores.decisions.clearPending(marks);
    return published;
  }

  private async redecideOne(subject: Subject, context: string, view: ResultView, waivers: readonly WaiverdbWaiver[]): Promise<GreenwaveDecisionUpdate | undefined> {
    const productVersion = this.deps.settings.productVersion;
    const outcome = await this.decideWith({ subject_type: subject.type, subject_identifier: subject.identifier, decision_context: context, product_version: productVersion }, view, waivers);
    if (!outcome.ok) {
      // No policy for this subject at this gating point: nothing is gated, nothing to announce.
      this.deps.logger.debug({ subject, context, reason: outcome.error.message }, "not decided");
      return undefined;
    }
    if (subject.type === "compose" && context === this.deps.settings.contexts.compose) await this.deps.onComposeDecision?.(subject.identifier, outcome.decision);
    const key = `${subjectKey(subject)}\u0000${productVersion}\u0000${context}`;
    const previous = (await this.stores.decisions.get(key)) ?? null;
    const update = decisionUpdate({ subject, product_version: productVersion, decision_context: context, previous, current: outcome.decision });
    if (!update) return undefined;
    // Published before it is remembered: a crash in between publishes it again (at least once), never loses it.
    await this.deps.bus.publish(GREENWAVE_DECISION_UPDATE_TOPIC, update);
    await this.stores.decisions.set(key, outcome.decision);
    this.deps.logger.info({ subject, context, satisfied: update.policies_satisfied, summary: update.summary }, "decision changed");
    return update;
  }
}
