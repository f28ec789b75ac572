import { isBusError, type Bus, type BusMessage, type HandlerContext } from "@atomic-ci/bus";
import { CHANGE_SET_IGNORED_TOPIC, CHANGE_SET_QUEUED_TOPIC } from "@atomic-ci/messages";
import type { Logger } from "@atomic-ci/telemetry";
import { batchDueAt, step, tick } from "./core/step.js";
import type { StepResult, TriggerOutput, TriggerPorts, TriggerRules, TriggerState } from "./core/types.js";
import type { ChangeSetStore } from "./store.js";

/** Saves that may find the document changed by another replica before the listener gives up (the message is then redelivered). */
export const MAX_SAVE_ATTEMPTS = 20;

export interface ListenerDeps {
  bus: Pick<Bus, "publish">;
  store: ChangeSetStore;
  rules: TriggerRules;
  ports: TriggerPorts;
  logger: Logger;
}

/**
 * The core's adapter: load state → decide → publish → save, one message at a time (the
 * consumer runs up to `prefetch` handlers at once, and they share one state document), and
 * a timer that closes the batching window.
 *
 * The save is a compare-and-set: when another replica saved in between, the listener loads
 * the new state and decides again. Outputs already published in an earlier attempt (the same
 * change set id, the same ignore) are not published again; a change set the new decision no
 * longer makes may still have gone out once — the same at-least-once a crash between publish
 * and save gives, and consumers key on the change set id.
 */
export class TriggerListener {
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: ListenerDeps) {}

  /** Pick up what a previous run left in the store: close an overdue window, re-arm the timer. */
  async start(): Promise<void> {
    await this.serial(() => this.onTime());
  }

  handle(message: BusMessage, context: HandlerContext): Promise<void> {
    const input = { id: message.id, topic: message.topic, schema: message.schema, body: message.body };
    return this.serial(() => this.transact((state) => step(state, input, this.deps.rules, this.deps.ports), context.log, context));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onTime(): Promise<void> {
    return this.transact((state) => tick(state, this.deps.rules, this.deps.ports), this.deps.logger);
  }

  /**
   * Load, decide, publish, then save if nobody saved meanwhile; else again on the new state.
   * Publish before saving: if publishing fails the message is redelivered and decided again.
   */
  private async transact(decide: (state: TriggerState) => StepResult, log: Logger, context?: HandlerContext): Promise<void> {
    const published = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await this.deps.store.load();
      const result = decide(state);
      for (const output of result.outputs) {
        const key = outputKey(output);
        if (key !== undefined && published.has(key)) continue;
        await this.publish(output, log, context);
        if (key !== undefined) published.add(key);
      }
      // Nothing changed (an ignored message, a timer with nothing due): no write, no conflict with other replicas.
      if (JSON.stringify(result.state) === JSON.stringify(state) || (await this.deps.store.save(result.state, version))) {
        this.schedule(result.state);
        return;
      }
      if (attempt >= MAX_SAVE_ATTEMPTS) throw new Error(`the change set state changed under every one of ${MAX_SAVE_ATTEMPTS} attempts to save it`);
      log.debug({ attempt, version }, "the change set state was saved by another replica meanwhile; deciding again");
    }
  }

  private async publish(output: TriggerOutput, log: Logger, context?: HandlerContext): Promise<void> {
    switch (output.type) {
      case "queued": {
        const id = output.body.change_set_id;
        context?.setChangeSet(id);
        const logger = context ? context.log : log.child({ change_set_id: id });
        await this.deps.bus.publish(CHANGE_SET_QUEUED_TOPIC, output.body, { headers: { atomic_ci_change_set: id } });
        logger.info({ change_set_id: id, reason: output.body.reason, members: output.body.members.length }, "change set queued");
        return;
      }
      case "ignored":
        // Nobody bound to ignored messages is fine (they are for dashboards); a change set nobody takes is not, so only here.
        await this.deps.bus.publish(CHANGE_SET_IGNORED_TOPIC, output.body).catch((err: unknown) => {
          if (!isBusError(err, "PUBLISH_RETURNED")) throw err;
        });
        (context?.log ?? log).debug({ reason_code: output.body.reason_code, reason: output.body.reason }, "ignored");
        return;
      case "held":
        (context?.log ?? log).info({ why: output.why, members: output.members, missing: output.missing }, "change held");
        return;
    }
  }

  private schedule(state: TriggerState): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const due = batchDueAt(state, this.deps.rules);
    if (this.stopped || due === undefined) return;
    this.arm(Math.max(0, due - this.deps.ports.now().getTime()));
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.serial(() => this.onTime()).catch((err: unknown) => {
        // The state was not saved, so the window is still open: try again shortly.
        this.deps.logger.error({ err }, "closing the batching window failed; retrying in 1 s");
        if (!this.stopped) this.arm(1000);
      });
    }, delayMs);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** What makes two outputs the same publish: a change set by its id, an ignore by its reason. */
function outputKey(output: TriggerOutput): string | undefined {
  switch (output.type) {
    case "queued":
      return `queued:${output.body.change_set_id}`;
    case "ignored":
      return `ignored:${output.body.reason_code}:${output.body.reason}`;
    case "held":
      return undefined;
  }
}
