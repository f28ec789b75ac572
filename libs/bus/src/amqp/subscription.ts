import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import type { Logger } from "@atomic-ci/telemetry";
import { BusError, errorMessage } from "../errors.js";
import type { ConsumeSpec, ConsumerHandle, DeliveryHandler, WireMessage } from "../transport.js";
import { AckBatcher } from "./acks.js";
import { AmqpDelivery, type DeliveryOwner } from "./delivery.js";
import type { AmqpConnectionManager } from "./connection.js";
import { reconnectDelay, type ResolvedAmqpOptions } from "./options.js";
import type { AmqpPublisher } from "./publisher.js";

export interface SubscriptionContext {
  connection: AmqpConnectionManager;
  publisher: AmqpPublisher;
  options: ResolvedAmqpOptions;
  log?: Logger | undefined;
}

/**
 * One consumer: its own channel (so its prefetch and failures are its own), its queue,
 * bindings and dead-letter queue. Declared again and re-consumed after every reconnect,
 * after a channel error, and when the broker cancels it (queue deleted).
 */
export class AmqpSubscription implements ConsumerHandle, DeliveryOwner {
  private channel: Channel | undefined;
  private acks: AckBatcher | undefined;
  private consumerTag: string | undefined;
  private settingUp: Promise<void> | undefined;
  private cancelled = false;
  private inFlight = 0;
  private retries = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private removeHook: (() => void) | undefined;
  private readonly log: Logger | undefined;
  readonly queue: string;
  readonly deadLetterQueue: string;

  constructor(
    readonly spec: ConsumeSpec,
    private readonly handler: DeliveryHandler,
    private readonly ctx: SubscriptionContext,
  ) {
    this.log = ctx.log?.child({ consumer: spec.queue });
    this.queue = spec.queue;
    this.deadLetterQueue = spec.deadLetter;
  }

  /** First declaration and consume; a failure goes to the caller (BusError DECLARATION). */
  async start(): Promise<void> {
    const model = this.ctx.connection.current();
    if (!model) throw new BusError("CONNECTION", `not connected; cannot consume from ${this.spec.queue}`);
    await this.setup(model);
    this.removeHook = this.ctx.connection.onUp("topology", (m) => this.setup(m).catch((err: unknown) => this.retryLater(err)));
  }

  private setup(model: ChannelModel): Promise<void> {
    if (this.cancelled) return Promise.resolve();
    this.settingUp ??= this.open(model).finally(() => {
      this.settingUp = undefined;
    });
    return this.settingUp;
  }

  private async open(model: ChannelModel): Promise<void> {
    if (this.channel) return;
    const ch = await model.createChannel();
    const acks = new AckBatcher(ch);
    ch.on("error", (err: Error) => this.log?.warn({ err: err.message }, "AMQP consumer channel closed by the broker"));
    ch.once("close", () => {
      acks.fail(new Error("channel closed"));
      this.onChannelClosed(ch);
    });
    try {
      await this.declare(ch);
      await ch.prefetch(this.spec.prefetch);
      // Current before basic.consume is sent: amqplib dispatches deliveries that arrive in the
      // same read as consume-ok (a backlog, e.g. redeliveries after a reconnect) before
      // `consume` resolves, and a delivery on a channel not yet current could not be
      // dead-lettered (it would be requeued, spending one of its deliveries).
      this.channel = ch;
      this.acks = acks;
      await this.consume(ch, acks);
    } catch (err) {
      if (this.channel === ch) {
        this.channel = undefined;
        this.acks = undefined;
      }
      await ch.close().catch(() => undefined);
      throw new BusError("DECLARATION", `cannot declare or consume ${this.spec.queue}: ${errorMessage(err)}`, { cause: err });
    }
    this.retries = 0;
    if (this.cancelled) await this.closeChannel(); // cancelled while declaring
  }

  /** Queue (durable; quorum by default), one binding per routing key, dead-letter queue. */
  private async declare(ch: Channel): Promise<void> {
    const { spec } = this;
    const { queueType, queueArguments } = this.ctx.options;
    await ch.assertQueue(spec.queue, { durable: true, arguments: { "x-queue-type": queueType, ...queueArguments } });
    for (const key of spec.bindings) await ch.bindQueue(spec.queue, spec.exchange, key);
    await ch.assertQueue(spec.deadLetter, { durable: true, arguments: { "x-queue-type": queueType } });
  }

  private async consume(ch: Channel, acks: AckBatcher): Promise<void> {
    const { consumerTag } = await ch.consume(this.spec.queue, (msg) => this.onMessage(ch, acks, msg), { noAck: false });
    this.consumerTag = consumerTag;
  }

  private onMessage(ch: Channel, acks: AckBatcher, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.consumerTag = undefined;
      if (this.cancelled) return;
      this.log?.warn({ queue: this.spec.queue }, "consumer cancelled by the broker (queue deleted?); declaring and consuming again");
      setTimeout(() => void this.reconsume(ch, acks), this.ctx.options.reconnect.initialDelayMs);
      return;
    }
    this.inFlight += 1;
    acks.delivered(msg.fields.deliveryTag);
    let work: Promise<void>;
    try {
      work = this.handler(new AmqpDelivery(this, ch, acks, msg));
    } catch (err) {
      // Never throw into amqplib (it would drop the connection); put the message back.
      work = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      try {
        acks.nack(msg.fields.deliveryTag, true);
      } catch {
        // channel gone: the broker redelivers it anyway
      }
    }
    work.then(this.handled, this.handlerFailed);
  }

  private readonly handled = (): void => {
    this.inFlight -= 1;
    if (this.cancelled && this.inFlight === 0) void this.closeChannel();
  };

  private readonly handlerFailed = (err: unknown): void => {
    this.log?.error({ err: errorMessage(err) }, "delivery handler failed");
    this.handled();
  };

  private async reconsume(ch: Channel, acks: AckBatcher): Promise<void> {
    if (this.cancelled || this.channel !== ch) return;
    try {
      await this.declare(ch);
      await this.consume(ch, acks);
    } catch (err) {
      this.log?.error({ err: errorMessage(err) }, "cannot consume again after a broker cancel");
      await ch.close().catch(() => undefined); // its close handler retries with backoff
    }
  }

  /** DeliveryOwner: the dead-letter copy goes to the default exchange, routed by queue name. */
  publish(message: WireMessage): Promise<void> {
    return this.ctx.publisher.send(message, "");
  }

  /** DeliveryOwner */
  isCurrent(ch: Channel): boolean {
    return this.channel === ch;
  }

  private onChannelClosed(ch: Channel): void {
    if (this.channel !== ch) return;
    this.channel = undefined;
    this.acks = undefined;
    this.consumerTag = undefined;
    if (this.cancelled) return;
    // Deferred so a connection loss (reported after its channels close) is known by then:
    // then the reconnect hook declares again; otherwise only this channel failed.
    setImmediate(() => {
      if (!this.cancelled && this.ctx.connection.isConnected() && !this.channel) this.retryLater(new Error("consumer channel closed"));
    });
  }

  private retryLater(err: unknown): void {
    if (this.cancelled || this.retryTimer) return;
    this.retries += 1;
    const delay = reconnectDelay(this.ctx.options.reconnect, this.retries);
    this.log?.warn({ err: errorMessage(err), retry_in_ms: delay }, "consumer not running; retrying");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const model = this.ctx.connection.current();
      if (model) this.setup(model).catch((e: unknown) => this.retryLater(e));
    }, delay);
  }

  /** Stop new deliveries; deliveries in flight still settle on the open channel, which closes after them. */
  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.removeHook?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const ch = this.channel;
    const tag = this.consumerTag;
    this.consumerTag = undefined;
    if (ch && tag) await ch.cancel(tag).catch(() => undefined);
    if (this.inFlight === 0) await this.closeChannel();
  }

  /** Close for good (transport close): unsettled deliveries go back to the queue. */
  async close(): Promise<void> {
    this.cancelled = true;
    this.removeHook?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.settingUp?.catch(() => undefined);
    await this.closeChannel();
  }

  private async closeChannel(): Promise<void> {
    const ch = this.channel;
    this.acks?.flush(); // acks asked for must reach the broker before the channel goes
    this.acks = undefined;
    this.channel = undefined;
    this.consumerTag = undefined;
    await ch?.close().catch(() => undefined);
  }
}
