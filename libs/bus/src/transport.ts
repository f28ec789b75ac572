/**
 * The contract every transport (AMQP, NATS JetStream, in-memory) implements. Transports move
 * bytes and settle deliveries; decoding, validation, idempotency, outcomes and metrics live
 * once in the consumer pipeline (consumer.ts) so the three behave the same.
 */

/** Header values as fedora-messaging puts them on the wire. */
export type HeaderValue = string | number | boolean | null;
export type Headers = Record<string, HeaderValue>;

/** AMQP-style message properties. NATS carries them as message headers. */
export interface WireProperties {
  contentType?: string;
  contentEncoding?: string;
  messageId?: string;
  /** 2 = persistent. */
  deliveryMode?: number;
  priority?: number;
  /** Seconds since the epoch. */
  timestamp?: number;
  /** AMQP user_id: validated by RabbitMQ against the connection's user. */
  userId?: string;
  headers: Headers;
}

export interface WireMessage {
  /** Full routing key (topic with prefix). */
  routingKey: string;
  body: Buffer;
  properties: WireProperties;
}

/** Why a message was dead-lettered. Goes in the `x-atomic-ci-dead-letter-reason` header. */
export type DeadLetterReason =
  | "too-large"
  | "content-type"
  | "content-encoding"
  | "not-json"
  | "not-an-object"
  | "schema"
  | "dropped"
  | "max-deliveries";

export interface DeadLetterInfo {
  reason: DeadLetterReason;
  /** Human-readable detail, e.g. the validation errors with their field paths. */
  detail: string;
  /** The consumer (queue) that dead-lettered it. */
  consumer: string;
}

/** Header names a dead-lettered copy carries, beside the original headers. */
export const DEAD_LETTER_HEADERS = {
  reason: "x-atomic-ci-dead-letter-reason",
  detail: "x-atomic-ci-dead-letter-detail",
  consumer: "x-atomic-ci-dead-letter-consumer",
  routingKey: "x-atomic-ci-original-routing-key",
  deliveryCount: "x-atomic-ci-delivery-count",
  at: "x-atomic-ci-dead-lettered-at",
} as const;

/** Build the headers of a dead-lettered copy of a delivery. */
export function deadLetterHeaders(delivery: Pick<Delivery, "routingKey" | "deliveryCount" | "properties">, info: DeadLetterInfo): Headers {
  return {
    ...delivery.properties.headers,
    [DEAD_LETTER_HEADERS.reason]: info.reason,
    [DEAD_LETTER_HEADERS.detail]: info.detail.slice(0, 4000),
    [DEAD_LETTER_HEADERS.consumer]: info.consumer,
    [DEAD_LETTER_HEADERS.routingKey]: delivery.routingKey,
    [DEAD_LETTER_HEADERS.deliveryCount]: delivery.deliveryCount,
    [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
  };
}

/** One delivery of a message to a consumer. Exactly one settle method is called per delivery. */
export interface Delivery {
  routingKey: string;
  body: Buffer;
  properties: WireProperties;
  /** 1 on the first delivery, incremented by each redelivery (as far as the transport knows). */
  deliveryCount: number;
  /** Done: remove from the queue. */
  ack(): Promise<void>;
  /** Put back for redelivery. */
  requeue(): Promise<void>;
  /** Copy to the dead-letter destination with the reason in headers (confirmed), then remove. */
  deadLetter(info: DeadLetterInfo): Promise<void>;
}

export interface ConsumeSpec {
  /** Durable queue (AMQP) or durable consumer (NATS) name. */
  queue: string;
  /** Routing-key patterns (AMQP topic syntax: `*` one word, `#` zero or more). */
  bindings: readonly string[];
  /** Exchange to bind to; `amq.topic` by default. */
  exchange: string;
  /** Unacked deliveries in flight at most. */
  prefetch: number;
  /** Where dead-lettered copies go: a queue (AMQP, memory) or subject (NATS). */
  deadLetter: string;
  /** Deliveries after which a message the handler keeps failing is dead-lettered. */
  maxDeliveries: number;
}

export interface ConsumerHandle {
  /** Stop receiving new deliveries; deliveries already handed out are still settled. */
  cancel(): Promise<void>;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface TransportEvents {
  /** Called when the transport (re)connects, with the attempt count. */
  onConnected?(info: { attempt: number }): void;
  /** Called when the connection is lost; the transport reconnects by itself. */
  onDisconnected?(info: { error?: unknown }): void;
}

export interface Transport {
  readonly kind: "amqp" | "nats" | "memory";
  /** Connect (idempotent). Rejects with BusError CONNECTION when it cannot. */
  connect(): Promise<void>;
  /** Send one message; resolves once the broker confirmed it (publisher confirms). */
  send(message: WireMessage, exchange: string): Promise<void>;
  /** Declare the queue, its bindings and dead-letter destination, and start consuming. */
  consume(spec: ConsumeSpec, handler: DeliveryHandler): Promise<ConsumerHandle>;
  /** Close connections. Pending sends are rejected with BusError CLOSED. */
  close(): Promise<void>;
  /** True while connected. */
  isConnected(): boolean;
}
