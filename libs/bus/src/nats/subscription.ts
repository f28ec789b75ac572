import { topicMatches } from "@atomic-ci/messages";
import type { Logger } from "@atomic-ci/telemetry";
import { ConsumerEvents, type ConsumerMessages, type JetStreamClient, type JsMsg } from "nats";
import { errorMessage } from "../errors.js";
import { deadLetterHeaders, type ConsumeSpec, type ConsumerHandle, type DeadLetterInfo, type Delivery, type DeliveryHandler } from "../transport.js";
import { decodeHeaders, encodeHeaders } from "./headers.js";
import type { ResolvedNatsOptions } from "./options.js";

export interface SubscriptionDeps {
  js: JetStreamClient;
  options: ResolvedNatsOptions;
  spec: ConsumeSpec;
  durable: string;
  deadLetterSubject: string;
  handler: DeliveryHandler;
  /** Re-create the streams and the durable (after the server lost them). */
  redeclare(): Promise<void>;
  /** Publish and wait for the PubAck, errors mapped to BusError. */
  publish(subject: string, data: Uint8Array, headers: ReturnType<typeof encodeHeaders>): Promise<void>;
  /** False once the connection is closed for good. */
  usable(): boolean;
  log: Logger | undefined;
}

const sleep = (ms: number, abort: Promise<void>) =>
  Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), abort]);

/**
 * One running consumer: pulls from the durable with `consume()`, hands each message to the
 * handler without waiting for the previous one (at most `prefetch` unsettled, like AMQP
 * prefetch), keeps long handlers from hitting `ack_wait`, and re-creates the pull iterator
 * if it ever ends while it should be running.
 */
export class NatsSubscription implements ConsumerHandle {
  private cancelled = false;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> = Promise.resolve();
  private readonly unsettled = new Set<JsMsg>();
  private wakeUp: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private readonly cancelSignal: Promise<void>;
  private signalCancel: () => void = () => undefined;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(private readonly deps: SubscriptionDeps) {
    this.cancelSignal = new Promise((resolve) => (this.signalCancel = resolve));
    // A handler may run longer than ack_wait (a compose, a test run); `working()` restarts the
    // server's timer so the message is not redelivered to another process meanwhile. A
    // crashed process stops sending it, and its messages come back after ack_wait.
    this.keepAlive = setInterval(() => {
      for (const msg of this.unsettled) {
        try {
          msg.working();
        } catch {
          // Connection closed: nothing to keep alive; the server redelivers after ack_wait.
        }
      }
    }, Math.max(500, deps.options.ackWaitMs / 3));
    this.keepAlive.unref();
  }

  start(): void {
    this.loop = this.run();
  }

  /** Stop pulling; deliveries already handed out are still settled by their handlers. */
  async cancel(): Promise<void> {
    if (!this.cancelled) {
      this.cancelled = true;
      this.signalCancel();
      this.wake();
      await this.messages?.close();
    }
    await this.loop;
    if (this.unsettled.size === 0) clearInterval(this.keepAlive);
  }

  /** Resolves when no delivery is waiting for its handler to settle it. */
  idle(): Promise<void> {
    if (this.unsettled.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  dispose(): void {
    clearInterval(this.keepAlive);
  }

  private wake(): void {
    const waiters = this.wakeUp;
    this.wakeUp = [];
    for (const w of waiters) w();
  }

  // A method, not the field: TypeScript would narrow the field across the awaits below.
  private isCancelled(): boolean {
    return this.cancelled;
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.isCancelled() && this.deps.usable(); attempt++) {
      try {
        // The first round uses the durable consume() just declared; later rounds re-declare
        // it, in case the server lost it (restarted without storage, stream deleted).
        if (attempt > 0) await this.deps.redeclare();
        const consumer = await this.deps.js.consumers.get(this.deps.options.stream, this.deps.durable);
        const messages = await consumer.consume({ max_messages: this.deps.spec.prefetch });
        this.messages = messages;
        if (this.isCancelled()) await messages.close();
        void this.watchStatus(messages);
        for await (const msg of messages) {
          attempt = 0;
          await this.slot();
          // Pulled but cancelled before dispatch: give it back at once, not after ack_wait.
          if (this.isCancelled()) msg.nak();
          else this.dispatch(msg);
        }
      } catch (err) {
        // The iterator stopped with an error, or the durable could not be reached: retry below.
        if (!this.isCancelled()) this.deps.log?.warn({ consumer: this.deps.spec.queue, err: errorMessage(err) }, "NATS consume failed; retrying");
      }
      this.messages = undefined;
      if (this.isCancelled() || !this.deps.usable()) break;
      await sleep(Math.min(30_000, 500 * 2 ** attempt), this.cancelSignal);
    }
  }

  /**
   * nats.js keeps a consume() going through reconnects and missed heartbeats by itself; when
   * the durable or its stream disappears it only reports it. Ending the iterator then makes
   * `run` re-declare them and pull again.
   */
  private async watchStatus(messages: ConsumerMessages): Promise<void> {
    for await (const status of await messages.status()) {
      const gone = status.type === ConsumerEvents.ConsumerDeleted || status.type === ConsumerEvents.ConsumerNotFound || status.type === ConsumerEvents.StreamNotFound;
      if (gone) {
        await messages.close();
        return;
      }
    }
  }

  private async slot(): Promise<void> {
    while (!this.cancelled && this.unsettled.size >= this.deps.spec.prefetch) {
      await new Promise<void>((resolve) => this.wakeUp.push(resolve));
    }
  }

  private matches(subject: string): boolean {
    return this.deps.spec.bindings.some((pattern) => topicMatches(pattern, subject));
  }

  private dispatch(msg: JsMsg): void {
    const { spec, options } = this.deps;
    const { properties, exchange } = decodeHeaders(msg.headers);
    // The NATS filter can be wider than the bindings (see subjects.ts), and one stream holds
    // every exchange's messages: what this queue would not have received on AMQP is acked
    // and skipped here.
    if ((exchange !== undefined && exchange !== spec.exchange) || !this.matches(msg.subject)) {
      msg.ack();
      return;
    }
    this.unsettled.add(msg);
    let settled = false;
    const settle = async (action: () => Promise<void>): Promise<void> => {
      if (settled) return;
      settled = true;
      try {
        await action();
      } finally {
        this.release(msg);
      }
    };
    const delivery: Delivery = {
      routingKey: msg.subject,
      body: Buffer.from(msg.data),
      properties,
      deliveryCount: msg.info.deliveryCount,
      ack: () =>
        settle(async () => {
          // Double ack: resolves once the server recorded it, as a publisher confirm would.
          await msg.ackAck({ timeout: options.publishTimeoutMs });
        }),
      requeue: () =>
        settle(() => {
          msg.nak(options.nakDelayMs);
          return Promise.resolve();
        }),
      deadLetter: (info) => settle(() => this.deadLetter(msg, delivery, info, exchange ?? spec.exchange)),
    };
    void this.deps
      .handler(delivery)
      .catch(() => undefined)
      // Every delivery is settled exactly once; a handler that forgot to leaves it requeued.
      .finally(() => (settled ? undefined : delivery.requeue().catch(() => undefined)));
  }

  /**
   * Publish the copy (with the reason headers) to the dead-letter subject and wait for its
   * PubAck, then `term()` the original so it is never redelivered. If the publish fails the
   * original stays unacked and comes back after ack_wait: a message is never lost on the way
   * to the dead-letter stream. The copy's de-duplication id names the stream position and
   * the durable, so a retried dead-lettering is stored once, while two consumers
   * dead-lettering the same message are both kept.
   */
  private async deadLetter(msg: JsMsg, delivery: Delivery, info: DeadLetterInfo, exchange: string): Promise<void> {
    const headers = encodeHeaders(
      { ...delivery.properties, headers: deadLetterHeaders(delivery, info) },
      { exchange, msgId: `dl:${this.deps.options.stream}:${msg.info.streamSequence}:${this.deps.durable}` },
    );
    await this.deps.publish(this.deps.deadLetterSubject, msg.data, headers);
    msg.term();
  }

  private release(msg: JsMsg): void {
    this.unsettled.delete(msg);
    this.wake();
    if (this.unsettled.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      if (this.cancelled) clearInterval(this.keepAlive);
    }
  }
}
