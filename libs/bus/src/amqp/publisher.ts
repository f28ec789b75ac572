import { randomUUID } from "node:crypto";
import type { ChannelModel, ConfirmChannel, Message, Options } from "amqplib";
import type { Logger } from "@atomic-ci/telemetry";
import { BusError, errorMessage } from "../errors.js";
import type { WireMessage } from "../transport.js";
import type { AmqpConnectionManager } from "./connection.js";

/** One `send()` until it is settled; it may be transmitted several times (reconnects). */
interface Pending {
  message: WireMessage;
  exchange: string;
  messageId: string;
  resolve: () => void;
  reject: (err: BusError) => void;
  /** `Date.now()` after which it fails with PUBLISH_TIMEOUT. */
  deadline: number;
  /** Incremented per transmission; a confirm callback of an older one is ignored. */
  attempt: number;
  channel: ConfirmChannel | undefined;
  /** Set by basic.return, which RabbitMQ sends before the ack of the same publish. */
  returned: string | undefined;
  done: boolean;
}

/** Close details a confirm channel saw before it closed (amqplib emits 'error' first). */
interface ChannelClose {
  code: number | undefined;
  message: string;
}

const NAMED_EXCHANGE = /exchange '([^']*)'/;

interface Resolvers {
  resolve: () => void;
  reject: (err: BusError) => void;
}
let captured: Resolvers | undefined;
function capture(resolve: () => void, reject: (err: BusError) => void): void {
  captured = { resolve, reject };
}

/**
 * Publishes on one dedicated ConfirmChannel. Each send resolves on the broker's ack; a
 * basic.return (unroutable) or nack rejects it; a lost channel or connection sends it
 * again on the next channel until `publishTimeoutMs` from the send.
 */
export class AmqpPublisher {
  private channel: ConfirmChannel | undefined;
  private opening: Promise<void> | undefined;
  private readonly waiting: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  /**
   * messageId → the in-flight send(s) with that id, in publish order (an array only when
   * ids repeat, e.g. replays: the common case allocates nothing).
   */
  private readonly byId = new Map<string, Pending | Pending[]>();
  private readonly closeInfo = new WeakMap<ConfirmChannel, ChannelClose>();
  private closed = false;
  /** Every unsettled send, for the timeout sweep. */
  private readonly unsettled = new Set<Pending>();
  private sweeper: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: AmqpConnectionManager,
    private readonly publishTimeoutMs: number,
    private readonly log?: Logger,
    /** The connection's user, stamped as user_id (RabbitMQ validates it). */
    private readonly userId?: string,
  ) {
    connection.onUp("publish", (model) => this.open(model));
  }

  send(message: WireMessage, exchange: string): Promise<void> {
    if (this.closed) return Promise.reject(new BusError("CLOSED", "AMQP transport is closed"));
    // No closure per send (see delivery.ts): the executor is module-level.
    const promise = new Promise<void>(capture);
    const { resolve, reject } = captured as Resolvers;
    const pending: Pending = {
      message,
      exchange,
      // A return can only be matched to its publish by message id, so every publish has one.
      messageId: message.properties.messageId ?? randomUUID(),
      resolve,
      reject,
      attempt: 0,
      channel: undefined,
      returned: undefined,
      done: false,
      deadline: Date.now() + this.publishTimeoutMs,
    };
    this.unsettled.add(pending);
    this.sweeper ??= setInterval(() => this.sweep(), sweepInterval(this.publishTimeoutMs));
    const channel = this.channel;
    if (channel && this.waiting.length === 0) this.transmit(channel, pending);
    else this.enqueue(pending);
    return promise;
  }

  /** Sends waiting for a channel or a confirm. */
  outstanding(): number {
    return this.unsettled.size;
  }

  private enqueue(pending: Pending): void {
    this.waiting.push(pending);
    const model = this.connection.current();
    if (model && !this.channel) void this.open(model).catch(() => undefined);
  }

  /** Open the confirm channel (once at a time) and send what was waiting. */
  private open(model: ChannelModel): Promise<void> {
    this.opening ??= this.createChannel(model)
      .catch((err: unknown) => {
        this.log?.warn({ err: errorMessage(err) }, "cannot open the AMQP publish channel; retrying");
        this.reopenLater();
        throw err;
      })
      .finally(() => {
        this.opening = undefined;
      });
    return this.opening;
  }

  /** After a failed open: try again on whatever connection is up by then. */
  private reopenLater(): void {
    if (this.reopenTimer) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      const model = this.connection.current();
      if (model && !this.closed && !this.channel) this.open(model).catch(() => undefined);
    }, 1000);
    this.reopenTimer.unref();
  }

  private async createChannel(model: ChannelModel): Promise<void> {
    if (this.channel) return;
    const channel = await model.createConfirmChannel();
    if (this.closed) {
      await channel.close().catch(() => undefined);
      return;
    }
    channel.on("error", (err: Error & { code?: number }) => {
      this.closeInfo.set(channel, { code: err.code, message: err.message });
      this.log?.warn({ err: err.message, code: err.code }, "AMQP publish channel closed by the broker");
    });
    channel.on("return", (msg: Message) => this.onReturn(channel, msg));
    channel.once("close", () => this.onChannelClosed(channel));
    this.channel = channel;
    this.flush();
  }

  private flush(): void {
    const channel = this.channel;
    while (channel && this.channel === channel && this.waiting.length > 0) {
      const pending = this.waiting.shift() as Pending;
      if (!pending.done) this.transmit(channel, pending);
    }
  }

  private transmit(channel: ConfirmChannel, pending: Pending): void {
    const attempt = ++pending.attempt;
    pending.channel = channel;
    pending.returned = undefined;
    this.inFlight.add(pending);
    const same = this.byId.get(pending.messageId);
    if (same === undefined) this.byId.set(pending.messageId, pending);
    else if (Array.isArray(same)) same.push(pending);
    else this.byId.set(pending.messageId, [same, pending]);
    const { message } = pending;
    try {
      const onConfirm: (err: unknown) => void = this.confirmed.bind(this, pending, attempt, channel);
      channel.publish(pending.exchange, message.routingKey, message.body, publishOptions(message, pending.messageId, this.userId), onConfirm);
    } catch {
      // The channel is closing (amqplib throws synchronously): send again on the next one.
      this.untrack(pending);
      this.enqueue(pending);
    }
  }

  private untrack(pending: Pending): void {
    this.inFlight.delete(pending);
    const same = this.byId.get(pending.messageId);
    if (same === pending) {
      this.byId.delete(pending.messageId);
    } else if (Array.isArray(same)) {
      const i = same.indexOf(pending);
      if (i >= 0) same.splice(i, 1);
      if (same.length === 0) this.byId.delete(pending.messageId);
    }
  }

  private onReturn(channel: ConfirmChannel, msg: Message): void {
    const id = msg.properties.messageId as string | undefined;
    const found = id === undefined ? undefined : this.byId.get(id);
    const candidates = found === undefined ? [] : Array.isArray(found) ? found : [found];
    const pending = candidates.find((p) => p.channel === channel && p.returned === undefined);
    const fields = msg.fields as unknown as { replyCode?: number; replyText?: string };
    if (pending) pending.returned = `${fields.replyCode ?? "?"} ${fields.replyText ?? "returned"}`;
    else this.log?.warn({ message_id: id, routing_key: msg.fields.routingKey }, "basic.return for an unknown publish");
  }

  private confirmed(pending: Pending, attempt: number, channel: ConfirmChannel, err: unknown): void {
    if (pending.done || pending.attempt !== attempt) return;
    this.untrack(pending);
    const { exchange, message } = pending;
    const target = `${exchange || "(default exchange)"} with routing key ${message.routingKey}`;
    if (err === null || err === undefined) {
      if (pending.returned === undefined) this.succeed(pending);
      else this.fail(pending, new BusError("PUBLISH_RETURNED", `message to ${target} was returned: ${pending.returned}`));
      return;
    }
    if (errorMessage(err) === "message nacked") {
      this.fail(pending, new BusError("PUBLISH_NACKED", `broker nacked the message to ${target}`));
      return;
    }
    // The channel closed under this publish. A 403/404 about this exchange is the publish's
    // own fault; anything else (connection lost, another publish's error) is retried.
    const close = this.closeInfo.get(channel);
    const named = close ? NAMED_EXCHANGE.exec(close.message)?.[1] : undefined;
    const ours = close !== undefined && (named === undefined || named === exchange);
    if (ours && close.code === 403) {
      this.fail(pending, new BusError("PUBLISH_FORBIDDEN", `publish to ${target} refused: ${close.message}`));
    } else if (ours && close.code === 404) {
      this.fail(pending, new BusError("PUBLISH_RETURNED", `cannot publish to ${target}: ${close.message}`));
    } else {
      this.enqueue(pending);
    }
  }

  private onChannelClosed(channel: ConfirmChannel): void {
    if (this.channel === channel) this.channel = undefined;
    if (this.closed) return;
    // Deferred: amqplib closes channels before it reports the connection closed, and a new
    // channel must not be opened on a connection that is going away.
    setImmediate(() => {
      const model = this.connection.current();
      if (!this.closed && model && !this.channel) this.open(model).catch(() => undefined);
    });
  }

  /**
   * Time out overdue sends. One interval for all of them rather than a timer per send: at
   * thousands of publishes a second the timers cost more than the publish itself.
   */
  private sweep(): void {
    const now = Date.now();
    for (const pending of this.unsettled) {
      if (pending.deadline <= now) {
        this.fail(pending, new BusError("PUBLISH_TIMEOUT", `no confirm for ${pending.message.routingKey} within ${this.publishTimeoutMs} ms`));
      }
    }
  }

  private settled(pending: Pending): void {
    pending.done = true;
    this.unsettled.delete(pending);
    if (this.unsettled.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private succeed(pending: Pending): void {
    if (pending.done) return;
    this.settled(pending);
    pending.resolve();
  }

  private fail(pending: Pending, err: BusError): void {
    if (pending.done) return;
    this.settled(pending);
    this.untrack(pending); // (a waiting one stays queued; `flush` skips it)
    pending.reject(err);
  }

  /**
   * Stop accepting sends; give in-flight ones `graceMs` to be confirmed; reject the rest
   * (and those still waiting for a connection) with CLOSED; close the channel.
   */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    for (const pending of this.waiting.splice(0)) this.fail(pending, new BusError("CLOSED", "AMQP transport closed before the message was sent"));
    const end = Date.now() + graceMs;
    while (this.inFlight.size > 0 && this.channel && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    for (const pending of [...this.inFlight]) this.fail(pending, new BusError("CLOSED", "AMQP transport closed before the broker confirmed the message"));
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }
}

/** amqplib publish options from wire properties: persistent and mandatory, always. */
function publishOptions(message: WireMessage, messageId: string, userId: string | undefined): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = {
    mandatory: true,
    deliveryMode: 2,
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    messageId,
    headers: p.headers,
  };
  // The caller's userId is not forwarded: RabbitMQ refuses a user_id other than the
  // connection's own, so the connection's user is what goes out.
  if (userId !== undefined) options.userId = userId;
  if (p.priority !== undefined) options.priority = p.priority;
  if (p.timestamp !== undefined) options.timestamp = p.timestamp;
  return options;
}

/** How often overdue sends are looked for: a tenth of the timeout, between 10 ms and 1 s. */
function sweepInterval(timeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(timeoutMs / 10)));
}
