import type { Channel, ConsumeMessage } from "amqplib";
import { BusError, errorMessage } from "../errors.js";
import { deadLetterHeaders, type DeadLetterInfo, type Delivery, type Headers, type WireMessage, type WireProperties } from "../transport.js";
import type { AckBatcher } from "./acks.js";

/** Set by quorum queues on redelivery: how many times the message was delivered before. */
const DELIVERY_COUNT_HEADER = "x-delivery-count";

/** What a delivery needs from the consumer it came from. */
export interface DeliveryOwner {
  readonly queue: string;
  readonly deadLetterQueue: string;
  /** Whether `ch` is still the consumer's live channel. */
  isCurrent(ch: Channel): boolean;
  /** Publish with confirm (the dead-letter copy). */
  publish(message: WireMessage): Promise<void>;
}

/**
 * One AMQP delivery. A class rather than an object of closures: one is made per message,
 * and creating closures per message was a visible cost (under tsx every function created
 * also gets its name defined, ~0.35 µs each). The hot paths of the AMQP transport avoid
 * per-message closures for the same reason.
 */
export class AmqpDelivery implements Delivery {
  readonly routingKey: string;
  readonly body: Buffer;
  readonly properties: WireProperties;
  readonly deliveryCount: number;
  private readonly tag: number;
  private settled = false;

  constructor(
    private readonly owner: DeliveryOwner,
    private readonly ch: Channel,
    private readonly acks: AckBatcher,
    msg: ConsumeMessage,
  ) {
    const p = msg.properties;
    let headers = (p.headers ?? {}) as Headers;
    const previous = headers[DELIVERY_COUNT_HEADER];
    if (previous !== undefined) {
      // Broker bookkeeping, not message data: it must not travel with a dead-lettered copy.
      const { [DELIVERY_COUNT_HEADER]: _count, ...rest } = headers;
      headers = rest;
    }
    const properties: WireProperties = { headers };
    if (p.contentType !== undefined) properties.contentType = p.contentType as string;
    if (p.contentEncoding !== undefined) properties.contentEncoding = p.contentEncoding as string;
    if (p.messageId !== undefined) properties.messageId = p.messageId as string;
    if (p.deliveryMode !== undefined) properties.deliveryMode = p.deliveryMode as number;
    if (p.priority !== undefined) properties.priority = p.priority as number;
    if (p.timestamp !== undefined) properties.timestamp = p.timestamp as number;
    if (p.userId !== undefined) properties.userId = p.userId as string;
    this.routingKey = msg.fields.routingKey;
    this.body = msg.content;
    this.properties = properties;
    // Quorum queues count deliveries; classic queues only say "redelivered", so there a
    // message is seen as delivered at most twice and the delivery limit cannot be enforced.
    this.deliveryCount = typeof previous === "number" ? previous + 1 : msg.fields.redelivered ? 2 : 1;
    this.tag = msg.fields.deliveryTag;
  }

  async ack(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    try {
      await this.acks.ack(this.tag);
    } catch (err) {
      throw this.lost(err);
    }
  }

  requeue(): Promise<void> {
    if (this.settled) return Promise.resolve();
    this.settled = true;
    try {
      this.acks.nack(this.tag, true);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(this.lost(err));
    }
  }

  /** Confirmed copy to the dead-letter queue first, then ack: a crash in between duplicates, never loses. */
  async deadLetter(info: DeadLetterInfo): Promise<void> {
    if (this.settled) return;
    // A dead channel cannot ack the original, so a copy would only be a duplicate later.
    if (!this.owner.isCurrent(this.ch)) return this.requeue();
    const copy: WireMessage = {
      routingKey: this.owner.deadLetterQueue,
      body: this.body,
      properties: { ...this.properties, headers: deadLetterHeaders(this, info) },
    };
    try {
      await this.owner.publish(copy);
    } catch (err) {
      // Not copied: put it back rather than leave it unacked (or lose it).
      await this.requeue().catch(() => undefined);
      throw err;
    }
    return this.ack();
  }

  private lost(err: unknown): BusError {
    return new BusError("CONNECTION", `cannot settle delivery from ${this.owner.queue}: ${errorMessage(err)}; the broker redelivers it`, { cause: err });
  }
}
