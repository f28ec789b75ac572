import type { SchemaRegistry } from "@atomic-ci/messages";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import { decodeMessage, type BusMessage } from "./envelope.js";
import { errorMessage } from "./errors.js";
import { LeaseSweeper, type HeldClaim } from "./idempotency/lease-sweeper.js";
import type { ClaimResult, IdempotencyStore } from "./idempotency/store.js";
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
  /**
   * Lease of a claim on a message id; renewed every third of it while the handler runs (one
   * round for all the consumer's messages in flight), so a claim outlives its holder (killed)
   * by at most this long. Default 30 s (below busyWaitMs: the
   * redelivered copy waiting for a dead holder's claim gets it within one delivery).
   */
  claimLeaseMs?: number;
  /**
   * How long a copy of a message waits while another consumer handles the same message id
   * before it is requeued. Default 60 s. Requeueing at once would count a delivery per bounce
   * (quorum queues' x-delivery-count) and dead-letter a healthy duplicate as `max-deliveries`.
   */
  busyWaitMs?: number;
  /** Called once when a handler halts the consumer. */
  onHalt?: (outcome: Extract<Outcome, { type: "halt" }>, message: BusMessage) => void;
}

export interface ResolvedConsumerOptions extends ConsumeSpec {
  handler: MessageHandler;
  maxBodyBytes: number;
  claimLeaseMs: number;
  busyWaitMs: number;
  onHalt?: ConsumerOptions["onHalt"];
}

export const CONSUMER_DEFAULTS = {
  exchange: "amq.topic",
  prefetch: 10,
  maxDeliveries: 5,
  maxBodyBytes: 1024 * 1024,
  claimLeaseMs: 30_000,
  busyWaitMs: 60_000,
} as const;

/** A copy of a message in hand re-asks the idempotency store this often (doubling, up to 4 s). */
const BUSY_POLL_MS = { first: 100, max: 4_000 } as const;
/** An idempotency store that failed: wait this long before the requeue, so an outage is not a hot loop. */
const STORE_ERROR_BACKOFF_MS = 1_000;

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
    busyWaitMs: options.busyWaitMs ?? CONSUMER_DEFAULTS.busyWaitMs,
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

/**
 * A message's child logger, made on first use: most messages log nothing, and a pino child
 * costs more than the rest of the pipeline around a trivial handler. A class, not a
 * closure: nothing is created per message that need not be (under tsx each closure also
 * gets its name defined, which showed in profiles).
 */
class MessageLog implements HeldClaim {
  private bound: Logger | undefined;
  constructor(
    private readonly logger: Logger,
    private readonly message: BusMessage | undefined,
    private readonly consumer: string,
  ) {}

  /** HeldClaim: the message id its claim is held under (only asked of a decoded message's log). */
  get id(): string {
    return this.message?.id ?? "";
  }

  get(): Logger {
    if (this.bound) return this.bound;
    const m = this.message;
    if (!m) return this.logger;
    const changeSet = changeSetOf(m);
    this.bound = this.logger.child(
      changeSet ? { message_id: m.id, topic: m.topic, consumer: this.consumer, change_set_id: changeSet } : { message_id: m.id, topic: m.topic, consumer: this.consumer },
    );
    return this.bound;
  }

  setChangeSet(id: string): void {
    this.bound = this.get().child({ change_set_id: id });
  }
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
  /** Deliveries being processed, and who waits for that to reach 0 (`drain`). */
  private active = 0;
  private idle: (() => void)[] = [];
  private halted = false;
  readonly options: ResolvedConsumerOptions;
  /** Renews the claims of the messages in flight, all in one round (one timer per consumer). */
  readonly leases: LeaseSweeper;

  constructor(
    options: ConsumerOptions,
    private readonly deps: ConsumerDeps,
  ) {
    this.options = resolveConsumerOptions(options);
    this.leases = new LeaseSweeper(deps.idempotency, this.options.queue, this.options.claimLeaseMs, deps.logger);
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
    this.leases.stop(); // nothing is held once drained; this only makes sure no timer is left
  }

  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private track(delivery: Delivery): Promise<void> {
    this.active += 1;
    return this.process(delivery).finally(this.processed);
  }

  private readonly processed = (): void => {
    this.active -= 1;
    if (this.active === 0) for (const resolve of this.idle.splice(0)) resolve();
  };

  private async process(delivery: Delivery): Promise<void> {
    const { metrics, logger } = this.deps;
    const consumer = this.name;
    metrics.received.inc({ consumer });
    if (this.halted) {
      await this.settle(delivery, () => delivery.requeue(), new MessageLog(logger, undefined, consumer));
      return;
    }
    const decoded = decodeMessage(delivery, { registry: this.deps.registry, maxBodyBytes: this.options.maxBodyBytes });
    if (!decoded.ok) {
      metrics.rejected.inc({ consumer, reason: decoded.reason });
      logger.warn(
        { consumer, topic: delivery.routingKey, message_id: delivery.properties.messageId, reason: decoded.reason, detail: decoded.detail },
        "invalid message dead-lettered",
      );
      await this.deadLetter(delivery, { reason: decoded.reason, detail: decoded.detail, consumer }, new MessageLog(logger, undefined, consumer));
      return;
    }
    const message = decoded.message;
    const log = new MessageLog(logger, message, consumer);

    if (delivery.deliveryCount > this.options.maxDeliveries) {
      await this.giveUp(delivery, `delivered ${delivery.deliveryCount} times (limit ${this.options.maxDeliveries})`, log);
      return;
    }

    let claim = await this.claim(message, log);
    if (claim === "busy") claim = await this.awaitTwin(message, log);
    if (claim === "done") {
      metrics.duplicates.inc({ consumer });
      log.get().info("already processed; acking duplicate");
      await this.settle(delivery, () => delivery.ack(), log);
      return;
    }
    if (claim === "busy" || claim === "error") {
      if (claim === "error" && this.handle) await sleep(STORE_ERROR_BACKOFF_MS);
      metrics.requeued.inc({ consumer });
      await this.settle(delivery, () => delivery.requeue(), log);
      return;
    }

    const context: HandlerContext = {
      get log() {
        return log.get();
      },
      deliveryCount: delivery.deliveryCount,
      setChangeSet(id: string) {
        log.setChangeSet(id);
      },
    };
    metrics.inFlight.inc({ consumer });
    const stopTimer = metrics.handlerSeconds.startTimer({ consumer });
    let outcome: Outcome;
    this.leases.hold(log);
    try {
      outcome = (await this.options.handler(message, context)) ?? { type: "ack" };
    } catch (err) {
      metrics.failed.inc({ consumer });
      log.get().error({ err, delivery_count: delivery.deliveryCount }, "handler failed");
      outcome = { type: "requeue", reason: `handler failed: ${errorMessage(err)}` };
    } finally {
      this.leases.release(log);
      metrics.inFlight.dec({ consumer });
    }
    stopTimer({ outcome: outcome.type });
    if (outcome.type === "ack") await this.acked(delivery, message, log);
    else await this.apply(outcome, delivery, message, log);
  }

  // try/await rather than .catch() chains: this is the per-message hot path.
  private async claim(message: BusMessage, log: MessageLog): Promise<ClaimResult | "error"> {
    try {
      return await this.deps.idempotency.claim(this.name, message.id, this.options.claimLeaseMs);
    } catch (err) {
      log.get().error({ err }, "idempotency store unavailable; requeueing");
      return "error";
    }
  }

  /**
   * Another consumer (a replica, or a redelivery racing its original) holds the claim: wait for
   * it to finish (→ done: ack this copy) or give the claim back (→ ours), instead of bouncing
   * the copy through the queue. Gives up when stopping or after busyWaitMs (→ requeue).
   */
  private async awaitTwin(message: BusMessage, log: MessageLog): Promise<ClaimResult | "error"> {
    const deadline = Date.now() + this.options.busyWaitMs;
    let delay: number = BUSY_POLL_MS.first;
    log.get().info("another consumer is handling this message id; waiting for it");
    let claim: ClaimResult | "error" = "busy";
    while (claim === "busy" && this.handle && Date.now() + delay <= deadline) {
      await sleep(delay);
      delay = Math.min(delay * 2, BUSY_POLL_MS.max);
      claim = await this.claim(message, log);
    }
    return claim;
  }

  /** The common outcome: record as processed, then ack. */
  private async acked(delivery: Delivery, message: BusMessage, log: MessageLog): Promise<void> {
    const consumer = this.name;
    try {
      await this.deps.idempotency.complete(consumer, message.id);
    } catch (err) {
      log.get().error({ err }, "could not record message as processed");
    }
    this.deps.metrics.processed.inc({ consumer });
    try {
      await delivery.ack();
    } catch (err) {
      log.get().error({ err }, "could not settle delivery; the broker will redeliver it");
    }
  }

  private async apply(outcome: Outcome, delivery: Delivery, message: BusMessage, log: MessageLog): Promise<void> {
    const { metrics, idempotency } = this.deps;
    const consumer = this.name;
    switch (outcome.type) {
      case "ack":
        await this.acked(delivery, message, log);
        return;
      case "requeue":
        await idempotency.release(consumer, message.id).catch(() => undefined);
        if (delivery.deliveryCount >= this.options.maxDeliveries) {
          await this.giveUp(delivery, `${outcome.reason} (delivery ${delivery.deliveryCount} of ${this.options.maxDeliveries})`, log);
          return;
        }
        metrics.requeued.inc({ consumer });
        log.get().warn({ reason: outcome.reason, delivery_count: delivery.deliveryCount }, "requeued");
        await this.settle(delivery, () => delivery.requeue(), log);
        return;
      case "drop":
        await idempotency.complete(consumer, message.id).catch(() => undefined);
        log.get().warn({ reason: outcome.reason }, "dropped by handler");
        await this.deadLetter(delivery, { reason: "dropped", detail: outcome.reason, consumer }, log);
        return;
      case "halt":
        this.halted = true;
        metrics.consuming.set({ consumer }, 0);
        // Stop deliveries before requeueing: otherwise the broker hands the message straight
        // back to this halted consumer, which requeues it again, in a loop. (cancel is idempotent.)
        await this.handle?.cancel().catch((err: unknown) => log.get().error({ err }, "could not cancel the halted consumer"));
        if (outcome.requeue) {
          await idempotency.release(consumer, message.id).catch(() => undefined);
          await this.settle(delivery, () => delivery.requeue(), log);
        } else {
          await idempotency.complete(consumer, message.id).catch(() => undefined);
          await this.settle(delivery, () => delivery.ack(), log);
        }
        log.get().error({ reason: outcome.reason }, "handler halted the consumer");
        this.options.onHalt?.(outcome, message);
        return;
    }
  }

  private async giveUp(delivery: Delivery, detail: string, log: MessageLog): Promise<void> {
    log.get().error({ detail }, "delivery limit reached; dead-lettering");
    await this.deadLetter(delivery, { reason: "max-deliveries", detail, consumer: this.name }, log);
  }

  private async deadLetter(delivery: Delivery, info: DeadLetterInfo, log: MessageLog): Promise<void> {
    this.deps.metrics.dropped.inc({ consumer: info.consumer, reason: info.reason });
    await this.settle(delivery, () => delivery.deadLetter(info), log);
  }

  /**
   * Settling can fail when the connection drops; the broker then redelivers the message
   * by itself, so the failure is logged and not retried here.
   */
  private async settle(_delivery: Delivery, action: () => Promise<void>, log: MessageLog): Promise<void> {
    try {
      await action();
    } catch (err) {
      log.get().error({ err }, "could not settle delivery; the broker will redeliver it");
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
