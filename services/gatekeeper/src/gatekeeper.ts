// The gatekeeper's core: results and waivers in, re-decisions out. Every result or waiver
// re-decides the subjects it touches at their gating point, and `greenwave.decision.update`
// is published only when the decision changed (with `previous`).
import { decide, decisionUpdate, parseDecisionRequest, type DecideOutcome, type Decision, type DecisionPorts, type Policy, type RemoteGatingYaml, type Subject } from "@atomic-ci/gating";
import { GREENWAVE_DECISION_UPDATE_TOPIC, WAIVERDB_WAIVER_NEW_TOPIC, type GreenwaveDecisionUpdate, type ResultsdbResult, type WaiverdbWaiver } from "@atomic-ci/messages";
import type { Bus } from "@atomic-ci/bus";
import type { Logger } from "@atomic-ci/telemetry";
import type { GatekeeperSection } from "./config.js";
import { composesOfResult, ResultIndex, subjectsOfResult, WaiverStore } from "./store.js";

export interface GatekeeperDeps {
  bus: Pick<Bus, "publish">;
  settings: Pick<GatekeeperSection, "productVersion" | "contexts">;
  policies: readonly Policy[];
  /** The `!RemoteRule` port (dist-git); see DistGit. */
  remoteGatingYaml(subject: Subject): Promise<RemoteGatingYaml>;
  logger: Pick<Logger, "info" | "debug" | "warn">;
  now: () => Date;
  /** Told every compose-gate decision computed (changed or not): the culprit finder's input. */
  onComposeDecision?: (compose: string, decision: Decision) => void;
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

const subjectKey = (s: Subject) => `${s.type}\u0000${s.identifier}`;

export class Gatekeeper {
  readonly results = new ResultIndex();
  readonly waivers = new WaiverStore();
  /** The last decision per subject and gating point (what `previous` is compared with). */
  private readonly decisions = new Map<string, Decision>();
  /** Re-decisions run one at a time, so `previous` is always the decision published before. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: GatekeeperDeps) {}

  /** The decision ports, optionally restricted to results produced on one compose (the compose gate). */
  ports(onCompose?: string): DecisionPorts {
    return {
      policies: this.deps.policies,
      results: (subject, testcase) => Promise.resolve(this.results.forSubject(subject, testcase, subject.type === "koji_build" ? onCompose : undefined)),
      waivers: (subject, pv) => Promise.resolve(this.waivers.forSubject(subject, pv)),
      remoteGatingYaml: (subject) => this.deps.remoteGatingYaml(subject),
      now: this.deps.now,
    };
  }

  /**
   * Decide a Greenwave request. A compose subject at the compose gate is judged with its host
   * package builds: each build's own gating requirements, on results made on that compose.
   */
  async decide(body: unknown): Promise<DecideOutcome> {
    const parsed = parseDecisionRequest(body);
    if (!parsed.ok) return parsed;
    const { compose } = this.deps.settings.contexts;
    const composes = parsed.value.subjects.filter((s) => s.type === "compose");
    if (composes.length !== 1 || parsed.value.subjects.length !== 1 || !parsed.value.decision_contexts?.includes(compose)) return decide(body, this.ports());
    const [subject] = composes as [Subject];
    return decide(this.composeGateBody(subject, body as Record<string, unknown>, parsed.value.decision_contexts), this.ports(subject.identifier));
  }

  private composeGateBody(subject: Subject, body: Record<string, unknown>, contexts: readonly string[]): Record<string, unknown> {
    const { subject_type: _t, subject_identifier: _i, ...rest } = body;
    const members = this.results.composeMembers(subject.identifier).map((item) => ({ type: "koji_build", item }));
    return {
      ...rest,
      subject: [{ type: subject.type, item: subject.identifier }, ...members],
      decision_context: [...new Set([...contexts, this.deps.settings.contexts.package])],
    };
  }

  /** A `resultsdb.result.new` body: index it, re-decide its subjects and the composes it ran on. */
  onResult(result: ResultsdbResult): Promise<GreenwaveDecisionUpdate[]> {
    this.results.add(result);
    const subjects = subjectsOfResult(result);
    const composes = [...composesOfResult(result), ...subjects.filter((s) => s.type === "compose").map((s) => s.identifier)];
    return this.redecide([...subjects.filter((s) => s.type !== "compose"), ...composes.map((identifier) => ({ type: "compose", identifier }))]);
  }

  /** A `waiverdb.waiver.new` body (or one made by the API): store it, re-decide its subject (and composes holding a waived build). */
  onWaiver(waiver: WaiverdbWaiver): Promise<GreenwaveDecisionUpdate[]> {
    this.waivers.add(waiver);
    const subject = { type: waiver.subject_type, identifier: waiver.subject_identifier };
    const composes = subject.type === "koji_build" ? this.results.composesOf(subject.identifier) : [];
    return this.redecide([subject, ...composes.map((identifier) => ({ type: "compose", identifier }))]);
  }

  /** `POST /api/v1.0/waivers`: store the waiver, publish `waiverdb.waiver.new`, re-decide. */
  async submitWaiver(input: WaiverInput): Promise<WaiverdbWaiver> {
    const waiver: WaiverdbWaiver = {
      id: this.waivers.nextId(),
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
    this.waivers.add(waiver);
    await this.deps.bus.publish(WAIVERDB_WAIVER_NEW_TOPIC, waiver);
    await this.onWaiver(waiver);
    return waiver;
  }

  /** The gating points a subject type is decided at. */
  private contextsOf(subject: Subject): string[] {
    const { contexts } = this.deps.settings;
    if (subject.type === "koji_build") return [contexts.package];
    if (subject.type === "compose") return [contexts.compose];
    return [];
  }

  private redecide(subjects: readonly Subject[]): Promise<GreenwaveDecisionUpdate[]> {
    const unique = [...new Map(subjects.map((s) => [subjectKey(s), s])).values()];
    const run = this.queue.then(async () => {
      const published: GreenwaveDecisionUpdate[] = [];
      for (const subject of unique) {
        for (const context of this.contextsOf(subject)) {
          const update = await this.redecideOne(subject, context);
          if (update) published.push(update);
        }
      }
      return published;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async redecideOne(subject: Subject, context: string): Promise<GreenwaveDecisionUpdate | undefined> {
    const productVersion = this.deps.settings.productVersion;
    const outcome = await this.decide({ subject_type: subject.type, subject_identifier: subject.identifier, decision_context: context, product_version: productVersion });
    if (!outcome.ok) {
      // No policy for this subject at this gating point: nothing is gated, nothing to announce.
      this.deps.logger.debug({ subject, context, reason: outcome.error.message }, "not decided");
      return undefined;
    }
    if (subject.type === "compose" && context === this.deps.settings.contexts.compose) this.deps.onComposeDecision?.(subject.identifier, outcome.decision);
    const key = `${subjectKey(subject)}\u0000${productVersion}\u0000${context}`;
    const previous = this.decisions.get(key) ?? null;
    const update = decisionUpdate({ subject, product_version: productVersion, decision_context: context, previous, current: outcome.decision });
    this.decisions.set(key, outcome.decision);
    if (!update) return undefined;
    await this.deps.bus.publish(GREENWAVE_DECISION_UPDATE_TOPIC, update);
    this.deps.logger.info({ subject, context, satisfied: update.policies_satisfied, summary: update.summary }, "decision changed");
    return update;
  }
}
