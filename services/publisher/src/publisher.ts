// The publisher's adapter: messages in (composes, images, gate decisions, operator requests),
// the decision core (decide.ts) over what the store remembers, promotion (@atomic-ci/publish)
// and release messages out. Evaluations run one at a time: after each message that can change
// a decision, and on a timer (schedules open, freezes end, soak times pass by themselves).
import { isAbsolute, join, relative } from "node:path";
import { Outcomes, type Bus, type BusMessage, type HandlerContext, type Outcome } from "@atomic-ci/bus";
import {
  ComposeComplete,
  ComposeCompleteMessage,
  GreenwaveDecisionUpdate,
  GreenwaveDecisionUpdateMessage,
  ImageComplete,
  ImageCompleteMessage,
  isReleaseOperatorRequest,
  OperatorRequest,
  OperatorRequestMessage,
  releaseTopic,
} from "@atomic-ci/messages";
import {
  lastModified,
  layout,
  lockDir,
  promote,
  PromotionConflictError,
  readJson,
  ReleasesIndex,
  rollback,
  setUpdate,
  UpdatesJson,
  url,
  type GpgKey,
  type PromoteResult,
} from "@atomic-ci/publish";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import type { ToolContext } from "@atomic-ci/tools";
import type { PublisherSection } from "./config.js";
import { plan, reasonsKey, type CandidateView, type HoldReason, type ManualHold, type StreamState } from "./decide.js";
import { GateUnreachableError, type GateChecker } from "./gate.js";
import { deliveredBody, heldBody, holdChangeBody, rolledBackBody } from "./messages.js";
import { GATE_SOURCE, type DeliveryPolicy } from "./policy.js";
import type { PolicySource } from "./policy-source.js";
import { holdOf, type Candidate, type PublisherStore, type StoredStream } from "./store.js";

const COMMIT = /^[0-9a-f]{64}$/;
/** Passes per evaluation: a delivery can make another stream's promotion possible at once (a soak of 0). */
const MAX_PASSES = 4;

export interface PublisherDeps {
  bus: Pick<Bus, "publish">;
  store: PublisherStore;
  settings: PublisherSection;
  policy: PolicySource;
  /** Undefined when no gatekeeper is configured: nothing is delivered. */
  gate: GateChecker | undefined;
  tools: ToolContext;
  logger: Logger;
  metrics?: Pick<Metrics, "publisherUntrusted" | "publisherReleases">;
  now: () => Date;
}

export interface EvaluationReport {
  delivered: { stream: string; commit: string; version: string }[];
  held: { stream: string; commit: string; reasons: HoldReason[] }[];
  policyError?: string;
}

export class Publisher {
  private readonly publicDir: string;
  private tail: Promise<unknown> = Promise.resolve();
  private queued: Promise<EvaluationReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastPolicyError: string | undefined;

  constructor(private readonly deps: PublisherDeps) {
    this.publicDir = deps.settings.publicDir;
  }

  /** The public OSTree repository of a stream (`publicRepo` with `{stream}` replaced, under publicDir when relative). */
  repoOf(stream: string): string {
    const path = this.deps.settings.publicRepo.replaceAll("{stream}", stream);
    return isAbsolute(path) ? path : join(this.publicDir, path);
  }

  // ---- messages -------------------------------------------------------------------------

  async handle(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    switch (message.schema) {
      case GreenwaveDecisionUpdateMessage.name:
        return this.onDecision(message, context);
      case ComposeCompleteMessage.name:
        return this.onCompose(message, context);
      case ImageCompleteMessage.name:
        return this.onImages(message, context);
      case OperatorRequestMessage.name:
        return this.onOperator(message, context);
      default:
        context.log.debug({ schema: message.schema }, "not a publisher message; ignored");
        return Outcomes.ack();
    }
  }

  private async onDecision(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    const body = GreenwaveDecisionUpdate.parse(message.body);
    // Decisions about other subjects or contexts (other Greenwaves' on a shared broker) are not ours to judge.
    if (body.subject_type !== "compose" || !this.deps.settings.gates.includes(body.decision_context)) {
      context.log.debug({ subject_type: body.subject_type, decision_context: body.decision_context }, "decision about another subject type or context; ignored");
      return Outcomes.ack();
    }
    const trusted = this.deps.settings.trust.gatekeeperUser;
    if (message.userId !== trusted) {
      this.deps.metrics?.publisherUntrusted.inc({ topic: "greenwave.decision.update" });
      const reason = `greenwave.decision.update from broker account ${message.userId === undefined ? "(none)" : JSON.stringify(message.userId)}, not the gatekeeper's (${JSON.stringify(trusted)}): not trusted`;
      context.log.warn({ user_id: message.userId ?? null, trusted }, reason);
      return Outcomes.drop(reason);
    }
    const commit = await this.commitOf(body.subject_identifier);
    if (commit === undefined) {
      context.log.info({ subject: body.subject_identifier }, "decision for a compose the publisher does not know; ignored");
      return Outcomes.ack();
    }
    const at = this.deps.now().toISOString();
    await this.deps.store.updateCandidate(commit, (c) => {
      const next = c ?? newCandidate(commit, at);
      next.gates[body.decision_context] = { satisfied: body.policies_satisfied, summary: body.summary, at };
      return next;
    });
    context.log.info({ commit, context: body.decision_context, satisfied: body.policies_satisfied }, "gate decision recorded");
    await this.evaluateLogged();
    return Outcomes.ack();
  }

  /** A compose subject is the commit, or the compose id of a compose the publisher heard of. */
  private async commitOf(identifier: string): Promise<string | undefined> {
    if (COMMIT.test(identifier)) return identifier;
    const all = await this.deps.store.listCandidates();
    return all.find((c) => c.compose?.composeId === identifier)?.commit;
  }

  private async onCompose(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    const body = ComposeComplete.parse(message.body);
    context.setChangeSet(body.change_set_id);
    const at = this.deps.now().toISOString();
    await this.deps.store.updateCandidate(body.commit, (c) => {
      const next = c ?? newCandidate(body.commit, at);
      next.compose = {
        composeId: body.compose_id,
        changeSetId: body.change_set_id,
        ref: body.ref,
        osVersion: body.os_version,
        repo: body.repo.location,
        timestamp: new Date(body.timestamp).toISOString(),
      };
      return next;
    });
    await this.evaluateLogged();
    return Outcomes.ack();
  }

  private async onImages(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    const body = ImageComplete.parse(message.body);
    if (body.change_set_id) context.setChangeSet(body.change_set_id);
    const at = this.deps.now().toISOString();
    await this.deps.store.updateCandidate(body.commit, (c) => {
      const next = c ?? newCandidate(body.commit, at);
      next.images = { meta: body.meta.location, osVersion: body.os_version, formats: Object.keys(body.images).sort() };
      return next;
    });
    await this.evaluateLogged();
    return Outcomes.ack();
  }

  private async onOperator(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    const body = OperatorRequest.parse(message.body);
    if (!isReleaseOperatorRequest(body)) return Outcomes.ack();
    const operators = this.deps.settings.trust.operatorUsers;
    if (operators.length > 0 && (message.userId === undefined || !operators.includes(message.userId))) {
      this.deps.metrics?.publisherUntrusted.inc({ topic: "pipeline.operator.request" });
      return Outcomes.drop(`operator ${body.action} from broker account ${message.userId ?? "(none)"}, not one of publisher.trust.operatorUsers`);
    }
    const now = this.deps.now();
    switch (body.action) {
      case "hold":
        await this.deps.store.setHold(body.stream, { reason: body.reason, by: body.requested_by, at: now.toISOString() });
        await this.deps.bus.publish(releaseTopic("hold-set"), holdChangeBody(body.stream, body.requested_by, body.reason, now));
        context.log.info({ stream: body.stream, by: body.requested_by }, "stream held");
        await this.evaluateLogged();
        return Outcomes.ack();
      case "unhold": {
        const had = await this.deps.store.clearHold(body.stream);
        await this.deps.bus.publish(releaseTopic("hold-lifted"), holdChangeBody(body.stream, body.requested_by, body.reason, now));
        context.log.info({ stream: body.stream, by: body.requested_by, had_hold: had }, "hold lifted");
        await this.evaluateLogged();
        return Outcomes.ack();
      }
      case "rollback":
        return this.onRollback(body.stream, body.to, body.requested_by, body.reason, context);
    }
  }

  private async onRollback(stream: string, to: string | undefined, by: string, reason: string, context: HandlerContext): Promise<Outcome> {
    const gpg = this.gpg();
    if (!gpg) return Outcomes.drop(`cannot roll ${stream} back: publisher.gpg.homedir and publisher.gpg.keyId are not configured`);
    // One at a time with deliveries: both move the stream's ref.
    const run = this.tail.then(async () => {
      const now = this.deps.now();
      const result = await rollback(
        { publicRepo: this.repoOf(stream), publicDir: this.publicDir, stream, ...(to === undefined ? {} : { to }), reason: `${reason} (rolled back by ${by})`, gpg, now },
        this.deps.tools,
      );
      const streams = await this.deps.store.getStreams();
      await this.deps.store.setStream(stream, { ...streams[stream], version: result.version, commit: result.commit });
      // A withdrawn release is not in the stream any more: nothing is promoted from it.
      const withdrawn = new Set(result.withdrawn);
      for (const c of await this.deps.store.listCandidates()) {
        const version = c.compose?.osVersion;
        if (version === undefined || !withdrawn.has(version) || c.streams[stream]?.deliveredAt === undefined) continue;
        await this.deps.store.updateCandidate(c.commit, (cur) => {
          const next = cur ?? c;
          next.streams[stream] = { ...next.streams[stream], withdrawn: true };
          return next;
        });
      }
      await this.deps.bus.publish(
        releaseTopic("rolled-back"),
        rolledBackBody(stream, { version: result.version, commit: result.commit, ref: result.ref, withdrawn: result.withdrawn, alreadyThere: result.type === "already-there" }, by, reason, now),
      );
      this.deps.metrics?.publisherReleases.inc({ stream, event: "rolled-back" });
      return result;
    });
    this.tail = run.catch(() => undefined);
    try {
      const result = await run;
      context.log.info({ stream, version: result.version, withdrawn: result.withdrawn, type: result.type }, "stream rolled back");
      return Outcomes.ack();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      context.log.error({ stream, to, err: why }, "rollback failed");
      return Outcomes.drop(`rollback of ${stream} failed: ${why}`);
    }
  }

  // ---- evaluation -----------------------------------------------------------------------

  /** Evaluate now (after the one running, if any; calls while one waits share it). */
  evaluate(): Promise<EvaluationReport> {
    if (this.queued) return this.queued;
    const run = this.tail.then(() => {
      this.queued = undefined;
      return this.evaluatePasses();
    });
    this.queued = run;
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async evaluateLogged(): Promise<void> {
    try {
      await this.evaluate();
    } catch (err) {
      // The message's facts are stored; the next evaluation (the timer at the latest) retries.
      this.deps.logger.error({ err }, "evaluation failed");
    }
  }

  /** Re-evaluate every `tickSeconds` until stop(). */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.evaluateLogged().finally(tick);
      }, this.deps.settings.tickSeconds * 1000);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tail;
  }

  private async evaluatePasses(): Promise<EvaluationReport> {
    const report: EvaluationReport = { delivered: [], held: [] };
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const delivered = await this.pass(report);
      if (delivered === 0) break;
    }
    return report;
  }

  /** One plan over the stored state, carried out. Returns how many deliveries it made. */
  private async pass(report: EvaluationReport): Promise<number> {
    const { store, logger } = this.deps;
    const now = this.deps.now();
    const load = await this.deps.policy.load();
    if (load.error !== undefined) {
      report.policyError = load.error;
      if (load.error !== this.lastPolicyError) {
        logger.error({ error: load.error, in_force: load.rev ?? null }, load.policy ? "delivery policy unusable; keeping the last good one" : "no usable delivery policy: nothing is delivered");
      }
    } else if (load.changed) {
      logger.info({ rev: load.rev, streams: Object.keys(load.policy?.streams ?? {}) }, "delivery policy loaded");
    }
    this.lastPolicyError = load.error;
    const policy = load.policy;
    if (!policy) return 0;

    await this.prune(now);
    const candidates = await store.listCandidates();
    const byCommit = new Map(candidates.map((c) => [c.commit, c]));
    const stored = await store.getStreams();
    const holds: Record<string, ManualHold> = Object.fromEntries(Object.entries(await store.getHolds()).map(([s, h]) => [s, holdOf(h)]));
    const states: Record<string, StreamState> = Object.fromEntries(Object.entries(stored).map(([s, st]) => [s, stateOf(st)]));
    const views = candidates.map((c) => this.viewOf(c));
    const plans = plan({ policy, now, states, holds, candidates: views, gates: this.deps.settings.gates });

    let deliveries = 0;
    for (const streamPlan of plans) {
      const { stream } = streamPlan;
      for (const old of streamPlan.superseded) {
        const c = byCommit.get(old.commit);
        if (c && !c.streams[stream]?.superseded) await this.markStream(c.commit, stream, { superseded: true });
      }
      for (const { candidate, reasons } of streamPlan.held) {
        const c = byCommit.get(candidate.commit);
        if (c) await this.held(stream, c, reasons, report);
      }
      if (streamPlan.deliver) {
        const c = byCommit.get(streamPlan.deliver.commit);
        if (c && (await this.deliver(stream, c, policy, streamPlan.deliver, stored[stream], report))) deliveries++;
      }
    }
    await this.syncUpdateMarks(policy, now);
    return deliveries;
  }

  private viewOf(c: Candidate): CandidateView {
    const missing: string[] = [];
    if (!c.compose) missing.push("the compose (pipeline.compose.complete)");
    if (this.deps.settings.requireImages && !c.images) missing.push("its images (pipeline.image.complete)");
    const deliveredTo: Record<string, Date> = {};
    const failed: Record<string, string> = {};
    for (const [stream, s] of Object.entries(c.streams)) {
      if (s.deliveredAt !== undefined && !s.withdrawn) deliveredTo[stream] = new Date(s.deliveredAt);
      if (s.failed !== undefined) failed[stream] = s.failed;
    }
    const version = c.compose?.osVersion ?? c.images?.osVersion;
    return {
      commit: c.commit,
      ...(version === undefined ? {} : { version }),
      order: orderOf(c),
      missing,
      gates: Object.fromEntries(Object.entries(c.gates).map(([k, g]) => [k, { satisfied: g.satisfied, summary: g.summary }])),
      deliveredTo,
      failed,
    };
  }

  /**
   * Send `pipeline.release.held` (with every reason) when the reasons that block it differ from
   * the last ones sent for this compose and stream. Waiting for an input (the compose or images
   * message, a first decision at a gate) is the pipeline still at work, not a hold: alone it sends
   * nothing, and its coming or going does not send the message again.
   */
  private async held(stream: string, c: Candidate, reasons: HoldReason[], report: EvaluationReport): Promise<void> {
    report.held.push({ stream, commit: c.commit, reasons });
    const version = c.compose?.osVersion;
    if (version === undefined) return;
    const blocking = reasons.filter((r) => !waitingForInput(r));
    if (blocking.length === 0) return;
    const key = reasonsKey(blocking);
    if (c.streams[stream]?.heldKey === key) return;
    await this.deps.bus.publish(releaseTopic("held"), heldBody(stream, c, version, reasons, this.deps.now()), { headers: this.headers(c) });
    await this.markStream(c.commit, stream, { heldKey: key });
    this.deps.metrics?.publisherReleases.inc({ stream, event: "held" });
    this.deps.logger.info({ stream, commit: c.commit, version, reasons: reasons.map((r) => `${r.kind}: ${r.detail}`) }, "release held");
  }

  private headers(c: Candidate): Record<string, string> {
    return c.compose?.changeSetId ? { atomic_ci_change_set: c.compose.changeSetId } : {};
  }

  /** Ask the gatekeeper again, then promote. True when the stream got the compose. */
  private async deliver(stream: string, c: Candidate, policy: DeliveryPolicy, view: CandidateView, current: StoredStream | undefined, report: EvaluationReport): Promise<boolean> {
    const compose = c.compose;
    if (!compose) return false;
    const gpg = this.gpg();
    const configMissing: string[] = [];
    if (!gpg) configMissing.push("publisher.gpg.homedir and publisher.gpg.keyId");
    if (!this.deps.gate) configMissing.push("publisher.gatekeeperUrl");
    if (!gpg || !this.deps.gate) {
      await this.held(stream, c, [{ kind: "config", detail: `cannot deliver: ${configMissing.join(" and ")} not configured` }], report);
      return false;
    }

    let answers;
    try {
      answers = await this.deps.gate.check(c.commit, this.deps.settings.gates);
    } catch (err) {
      const detail = err instanceof GateUnreachableError ? err.message : `asking the gatekeeper failed: ${err instanceof Error ? err.message : String(err)}`;
      // Never deliver on doubt: the next evaluation asks again.
      await this.held(stream, c, [{ kind: "gate", detail }], report);
      return false;
    }
    const unsatisfied = answers.filter((a) => !a.satisfied);
    if (unsatisfied.length > 0) {
      const at = this.deps.now().toISOString();
      await this.deps.store.updateCandidate(c.commit, (cur) => {
        const next = cur ?? c;
        for (const a of answers) next.gates[a.context] = { satisfied: a.satisfied, summary: a.summary, at };
        return next;
      });
      // Worded as decide() words a stored decision: the next evaluation's reasons are the same, and no second message goes out.
      await this.held(stream, c, unsatisfied.map((a) => ({ kind: "gate", detail: `${a.context} not satisfied: ${a.summary}` })), report);
      return false;
    }

    const spec = policy.streams[stream];
    const now = this.deps.now();
    const fromStream = spec && spec.from !== GATE_SOURCE ? spec.from : undefined;
    let result: PromoteResult;
    try {
      result = await promote(
        {
          pipelineRepo: compose.repo,
          commit: c.commit,
          publicRepo: this.repoOf(stream),
          publicDir: this.publicDir,
          stream,
          ref: compose.ref,
          version: compose.osVersion,
          gpg,
          ...(c.images ? { metaJson: c.images.meta } : {}),
          ...(this.deps.settings.images ? { images: this.deps.settings.images.filter((i) => c.images?.formats.includes(i)) } : {}),
          ...(this.deps.settings.baseUrl ? { baseUrl: this.deps.settings.baseUrl } : {}),
          compressionLevel: this.deps.settings.compressionLevel,
          ...(spec?.rollout ? { rollout: { start_epoch: Math.floor(now.getTime() / 1000), ...spec.rollout } } : {}),
          now,
        },
        this.deps.tools,
      );
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (err instanceof PromotionConflictError) await this.markStream(c.commit, stream, { failed: why });
      this.deps.metrics?.publisherReleases.inc({ stream, event: "failed" });
      this.deps.logger.error({ stream, commit: c.commit, err: why }, "promotion failed");
      await this.held(stream, c, [{ kind: "error", detail: `promotion failed: ${why}` }], report);
      return false;
    }

    const deliveredAt = now.toISOString();
    await this.markStream(c.commit, stream, { deliveredAt, version: compose.osVersion });
    const order = current?.order !== undefined && current.order > view.order ? current.order : view.order;
    await this.deps.store.setStream(stream, { version: compose.osVersion, commit: c.commit, deliveredAt, order });
    const base = this.deps.settings.baseUrl;
    const repoRel = relative(this.publicDir, this.repoOf(stream));
    const images = Object.values(result.media).flatMap((m) => Object.values(m.artifacts).map((a) => a.disk.location));
    await this.deps.bus.publish(
      releaseTopic("delivered"),
      deliveredBody(
        stream,
        c,
        compose.osVersion,
        {
          ref: result.ref,
          repo: base ? url(base, `${repoRel}/`) : this.repoOf(stream),
          streamMetadata: base ? url(base, layout.stream(stream)) : join(this.publicDir, layout.stream(stream)),
          releaseMetadata: base ? url(base, layout.release(stream, compose.osVersion)) : join(this.publicDir, layout.release(stream, compose.osVersion)),
          images,
          alreadyPromoted: result.type === "already-promoted",
          ...(fromStream ? { fromStream } : {}),
        },
        now,
      ),
      { headers: this.headers(c) },
    );
    this.deps.metrics?.publisherReleases.inc({ stream, event: "delivered" });
    report.delivered.push({ stream, commit: c.commit, version: compose.osVersion });
    this.deps.logger.info({ stream, commit: c.commit, version: compose.osVersion, type: result.type, timings: result.timings }, "release delivered");
    return true;
  }

  private async markStream(commit: string, stream: string, patch: Partial<Candidate["streams"][string]>): Promise<void> {
    await this.deps.store.updateCandidate(commit, (cur) => {
      const next = cur ?? newCandidate(commit, this.deps.now().toISOString());
      next.streams[stream] = { ...next.streams[stream], ...patch };
      return next;
    });
  }

  private gpg(): GpgKey | undefined {
    const { homedir, keyId } = this.deps.settings.gpg;
    return homedir && keyId ? { homedir, keyId } : undefined;
  }

  /** Write the policy's barriers and dead-ends into updates/<stream>.json for releases that exist. */
  private async syncUpdateMarks(policy: DeliveryPolicy, now: Date): Promise<void> {
    const marks = [...policy.barriers.map((m) => ({ ...m, type: "barrier" as const })), ...policy.deadends.map((m) => ({ ...m, type: "deadend" as const }))];
    if (marks.length === 0) return;
    const todo: typeof marks = [];
    for (const mark of marks) {
      const releases = await readJson(join(this.publicDir, layout.releases(mark.stream)), ReleasesIndex);
      if (!releases?.releases.some((r) => r.version === mark.version)) continue;
      const updates = await readJson(join(this.publicDir, layout.updates(mark.stream)), UpdatesJson);
      const have = updates?.releases.find((r) => r.version === mark.version)?.metadata[mark.type];
      if (have?.reason !== mark.reason) todo.push(mark);
    }
    if (todo.length === 0) return;
    const unlock = await lockDir(join(this.publicDir, ".atomic-ci", "publish.lock"));
    try {
      for (const mark of todo) {
        await setUpdate(this.publicDir, mark.stream, mark.version, { [mark.type]: { reason: mark.reason } }, lastModified(now));
        this.deps.logger.info({ stream: mark.stream, version: mark.version, type: mark.type }, "updates metadata marked");
      }
    } finally {
      await unlock();
    }
  }

  /** Forget composes older than the retention that no stream waits for. */
  private async prune(now: Date): Promise<void> {
    const limit = now.getTime() - this.deps.settings.retentionDays * 86_400_000;
    for (const c of await this.deps.store.listCandidates()) {
      if (new Date(c.firstSeen).getTime() < limit) await this.deps.store.deleteCandidate(c.commit);
    }
  }
}

function waitingForInput(reason: HoldReason): boolean {
  return reason.kind === "incomplete" || (reason.kind === "gate" && reason.detail.startsWith("no decision at "));
}

function newCandidate(commit: string, at: string): Candidate {
  return { commit, firstSeen: at, gates: {}, streams: {} };
}

/** Commit timestamp, then when it was first seen: ISO strings in UTC sort as times. */
export function orderOf(c: Candidate): string {
  return `${c.compose?.timestamp ?? c.firstSeen}|${c.firstSeen}`;
}

function stateOf(stored: StoredStream): StreamState {
  return {
    ...(stored.version === undefined ? {} : { version: stored.version }),
    ...(stored.commit === undefined ? {} : { commit: stored.commit }),
    ...(stored.deliveredAt === undefined ? {} : { deliveredAt: new Date(stored.deliveredAt) }),
    ...(stored.order === undefined ? {} : { order: stored.order }),
  };
}
