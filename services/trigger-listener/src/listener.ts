import { isBusError, type Bus, type BusMessage, type HandlerContext } from "@atomic-ci/bus";
import { CHANGE_SET_IGNORED_TOPIC, CHANGE_SET_QUEUED_TOPIC } from "@atomic-ci/messages";
import type { Logger } from "@atomic-ci/telemetry";
import { batchDueAt, step, tick } from "./core/step.js";
import type { StepResult, TriggerOutput, TriggerPorts, TriggerRules, TriggerState } from "./core/types.js";
import type { ChangeSetStore } from "./store.js";

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
    return this.serial(async () => {
      const state = await this.deps.store.load();
      const input = { id: message.id, topic: message.topic, schema: message.schema, body: message.body };
      await this.apply(step(state, input, this.deps.rules, this.deps.ports), context.log, context);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async onTime(): Promise<void> {
    const state = await this.deps.store.load();
    await this.apply(tick(state, this.deps.rules, this.deps.ports), this.deps.logger);
  }

  /** Publish before saving: if publishing fails the message is redelivered and decided again. */
  private async apply(result: StepResult, log: Logger, context?: HandlerContext): Promise<void> {
    for (const output of result.outputs) await this.publish(output, log, context);
    await this.deps.store.save(result.state);
    this.schedule(result.state);
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
