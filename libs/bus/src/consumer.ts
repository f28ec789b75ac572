import type { SchemaRegistry } from "@atomic-ci/messages";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import { decodeMessage, type BusMessage } from "./envelope.js";
import { errorMessage } from "./errors.js";
import type { IdempotencyStore } from "./idempotency/store.js";
import type { Outcome } from "./outcome.js";
import type { ConsumeSpec, ConsumerHandle, DeadLetterInfo, Delivery, Transport } from "./transport.js";

export interface HandlerContext {
  /** Logger bound to this message: `message_id`, `topic`, and `change_set_id` once known. */
  readonly log: Logger;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /** Bind a change-set id to every later log line of this handler. */
  setChangeSet(id: string): void;
}

/** A handler resolves to an outcome; resolving to nothing (undefined) means ack. */
export type MessageHandler<T = unknown> = (message: BusMessage<T>, context: HandlerContext) => Promise<Outcome | undefined | void>; // eslint-disable-line @typescript-eslint/no-invalid-void-type -- async handlers that return nothing are the common case

/** What the consumer was asked to do, before defaults (see `resolveConsumerOptions`). */
export interface ConsumerOptions {
  /** Durable queue name, one per service (competing consumers share it). */
  queue: string;
  /** Routing-key patterns to bind, prefix included (e.g. `org.fedoraproject.*.buildsys.#`). */
  bindings: readonly string[];
  handler: MessageHandler;
  /** Default `amq.topic`. */
  exchange?: string;
  /** Default 10, as fedora-messaging. */
  prefetch?: number;
  /** Default 5: a handler that keeps failing sees a message at most this many times. */
  maxDeliveries?: number;
  /** Default `<queue>.dead-letter`. */
  deadLetter?: string;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  /** How long a claim on a message id lasts while its handler runs. Default 10 min. */
  claimLeaseMs?: number;
  /** Called once when a handler halts the consumer. */
  onHalt?: (outcome: Extract<Outcome, { type: "halt" }>, message: BusMessage) => void;
}

export interface ResolvedConsumerOptions extends ConsumeSpec {
  handler: MessageHandler;
  maxBodyBytes: number;
  claimLeaseMs: number;
  onHalt?: ConsumerOptions["onHalt"];
}

export const CONSUMER_DEFAULTS = {
  exchange: "amq.topic",
  prefetch: 10,
  maxDeliveries: 5,
  maxBodyBytes: 1024 * 1024,
  claimLeaseMs: 10 * 60_000,
} as const;

export function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  const resolved: ResolvedConsumerOptions = {
    queue: options.queue,
    bindings: options.bindings,
    handler: options.handler,
    exchange: options.exchange ?? CONSUMER_DEFAULTS.exchange,
    prefetch: options.prefetch ?? CONSUMER_DEFAULTS.prefetch,
    maxDeliveries: options.maxDeliveries ?? CONSUMER_DEFAULTS.maxDeliveries,
    deadLetter: options.deadLetter ?? `${options.queue}.dead-letter`,
    maxBodyBytes: options.maxBodyBytes ?? CONSUMER_DEFAULTS.maxBodyBytes,
    claimLeaseMs: options.claimLeaseMs ?? CONSUMER_DEFAULTS.claimLeaseMs,
  };
  if (options.onHalt) resolved.onHalt = options.onHalt;
  return resolved;
}

export interface ConsumerDeps {
  transport: Transport;
  registry: SchemaRegistry;
  idempotency: IdempotencyStore;
  metrics: Metrics;
  logger: Logger;
}

/** Finds the change-set id a message belongs to, for log correlation. */
function changeSetOf(message: BusMessage): string | undefined {
  const header = message.headers["atomic_ci_change_set"];
  if (typeof header === "string") return header;
  const body = message.body as Record<string, unknown>;
  const fromBody = body["change_set_id"];
  return typeof fromBody === "string" ? fromBody : undefined;
}

/**
 * The transport-independent consumer: decode → validate → idempotency → handler → settle.
 * One poison message never stops it: every failure settles that delivery and moves on.
 */
export class Consumer {
  private handle: ConsumerHandle | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private halted = false;
  readonly options: ResolvedConsumerOptions;

  constructor(
    options: ConsumerOptions,
    private readonly deps: ConsumerDeps,
  ) {
    this.options = resolveConsumerOptions(options);
  }

  get name(): string {
    return this.options.queue;
  }

  isConsuming(): boolean {
    return this.handle !== undefined && !this.halted;
  }

  async start(): Promise<void> {
    if (this.handle) return;
    this.handle = await this.deps.transport.consume(this.options, (delivery) => this.track(delivery));
    this.deps.metrics.consuming.set({ consumer: this.name }, 1);
    this.deps.logger.info({ consumer: this.name, bindings: this.options.bindings }, "consuming");
  }

  /** Stop taking deliveries, then wait for handlers in flight to finish and settle. */
  async stop(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.deps.metrics.consuming.set({ consumer: this.name }, 0);
    if (handle) await handle.cancel();
    await this.drain();
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(delivery: Delivery): Promise<void> {
    const work = this.process(delivery).finally(() => {
      this.inFlight.delete(work);
    });
    this.inFlight.add(work);
    return work;
  }

  private async process(delivery: Delivery): Promise<void> {
    const { metrics, logger } = this.deps;
    const consumer = this.name;
    metrics.received.inc({ consumer });
    if (this.halted) {
      await this.settle(delivery, () => delivery.requeue(), logger);
      return;
    }
    const decoded = decodeMessage(delivery, { registry: this.deps.registry, maxBodyBytes: this.options.maxBodyBytes });
    if (!decoded.ok) {
      metrics.rejected.inc({ consumer, reason: decoded.reason });
      logger.warn(
        { consumer, topic: delivery.routingKey, message_id: delivery.properties.messageId, reason: decoded.reason, detail: decoded.detail },
        "invalid message dead-lettered",
      );
      await this.deadLetter(delivery, { reason: decoded.reason, detail: decoded.detail, consumer }, logger);
      return;
    }
    const message = decoded.message;
    let log = logger.child({ message_id: message.id, topic: message.topic, consumer });
    const changeSet = changeSetOf(message);
    if (changeSet) log = log.child({ change_set_id: changeSet });

    if (delivery.deliveryCount > this.options.maxDeliveries) {
      await this.giveUp(delivery, `delivered ${delivery.deliveryCount} times (limit ${this.options.maxDeliveries})`, log);
      return;
    }

    const claim = await this.deps.idempotency.claim(consumer, message.id, this.options.claimLeaseMs).catch((err: unknown) => {
      log.error({ err }, "idempotency store unavailable; requeueing");
      return "error" as const;
    });
    if (claim === "done") {
      metrics.duplicates.inc({ consumer });
      log.info("already processed; acking duplicate");
      await this.settle(delivery, () => delivery.ack(), log);
      return;
    }
    if (claim === "busy" || claim === "error") {
      metrics.requeued.inc({ consumer });
      await this.settle(delivery, () => delivery.requeue(), log);
      return;
    }

    const context: HandlerContext = {
      get log() {
        return log;
      },
      deliveryCount: delivery.deliveryCount,
      setChangeSet(id: string) {
        log = log.child({ change_set_id: id });
      },
    };
    metrics.inFlight.inc({ consumer });
    const stopTimer = metrics.handlerSeconds.startTimer({ consumer });
    let outcome: Outcome;
    try {
      outcome = (await this.options.handler(message, context)) ?? { type: "ack" };
    } catch (err) {
      metrics.failed.inc({ consumer });
      log.error({ err, delivery_count: delivery.deliveryCount }, "handler failed");
      outcome = { type: "requeue", reason: `handler failed: ${errorMessage(err)}` };
    } finally {
      metrics.inFlight.dec({ consumer });
    }
    stopTimer({ outcome: outcome.type });
    await this.apply(outcome, delivery, message, log);
  }

  private async apply(outcome: Outcome, delivery: Delivery, message: BusMessage, log: Logger): Promise<void> {
    const { metrics, idempotency } = this.deps;
    const consumer = this.name;
    switch (outcome.type) {
      case "ack":
        await idempotency.complete(consumer, message.id).catch((err: unknown) => log.error({ err }, "could not record message as processed"));
        metrics.processed.inc({ consumer });
        await this.settle(delivery, () => delivery.ack(), log);
        return;
      case "requeue":
        await idempotency.release(consumer, message.id).catch(() => undefined);
        if (delivery.deliveryCount >= this.options.maxDeliveries) {
          await this.giveUp(delivery, `${outcome.reason} (delivery ${delivery.deliveryCount} of ${this.options.maxDeliveries})`, log);
          return;
        }
        metrics.requeued.inc({ consumer });
        log.warn({ reason: outcome.reason, delivery_count: delivery.deliveryCount }, "requeued");
        await this.settle(delivery, () => delivery.requeue(), log);
        return;
      case "drop":
        await idempotency.complete(consumer, message.id).catch(() => undefined);
        log.warn({ reason: outcome.reason }, "dropped by handler");
        await this.deadLetter(delivery, { reason: "dropped", detail: outcome.reason, consumer }, log);
        return;
      case "halt":
        this.halted = true;
        metrics.consuming.set({ consumer }, 0);
        // Stop deliveries before requeueing: otherwise the broker hands the message straight
        // back to this halted consumer, which requeues it again, in a loop. (cancel is idempotent.)
        await this.handle?.cancel().catch((err: unknown) => log.error({ err }, "could not cancel the halted consumer"));
        if (outcome.requeue) {
          await idempotency.release(consumer, message.id).catch(() => undefined);
          await this.settle(delivery, () => delivery.requeue(), log);
        } else {
          await idempotency.complete(consumer, message.id).catch(() => undefined);
          await this.settle(delivery, () => delivery.ack(), log);
        }
        log.error({ reason: outcome.reason }, "handler halted the consumer");
        this.options.onHalt?.(outcome, message);
        return;
    }
  }

  private async giveUp(delivery: Delivery, detail: string, log: Logger): Promise<void> {
    log.error({ detail }, "delivery limit reached; dead-lettering");
    await this.deadLetter(delivery, { reason: "max-deliveries", detail, consumer: this.name }, log);
  }

  private async deadLetter(delivery: Delivery, info: DeadLetterInfo, log: Logger): Promise<void> {
    this.deps.metrics.dropped.inc({ consumer: info.consumer, reason: info.reason });
    await this.settle(delivery, () => delivery.deadLetter(info), log);
  }

  /**
   * Settling can fail when the connection drops; the broker then redelivers the message
   * by itself, so the failure is logged and not retried here.
   */
  private async settle(_delivery: Delivery, action: () => Promise<void>, log: Logger): Promise<void> {
    try {
      await action();
    } catch (err) {
      log.error({ err }, "could not settle delivery; the broker will redeliver it");
    }
  }
}
