import { prefixTopic, validateBody, type MessageSchema, type SchemaRegistry, type Severity } from "@atomic-ci/messages";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import { Consumer, type ConsumerOptions } from "./consumer.js";
import { encodeMessage } from "./envelope.js";
import { BusError, InvalidMessageError, errorMessage } from "./errors.js";
import type { IdempotencyStore } from "./idempotency/store.js";
import type { Transport } from "./transport.js";

export interface BusDeps {
  transport: Transport;
  registry: SchemaRegistry;
  idempotency: IdempotencyStore;
  metrics: Metrics;
  logger: Logger;
}

export interface BusSettings {
  /** Exchange messages are published to. Default `amq.topic`. */
  exchange?: string;
  /** Prepended to every published topic, e.g. `org.fedoraproject.prod`. */
  topicPrefix?: string;
  /**
   * user_id stamped on every message this bus sends. The in-memory broker carries it as is
   * (one process, every service trusted); on AMQP the connection's own user replaces it,
   * because RabbitMQ refuses any other.
   */
  userId?: string;
}

export interface PublishOptions {
  severity?: Severity;
  priority?: number;
  /** Schema name to validate against; default: the registry's schema for the topic. */
  schema?: string;
  /** Override the topic prefix for this message ("" for none). */
  topicPrefix?: string;
  /** Fixed message id (replays); default a fresh UUID v4. */
  id?: string;
  /** Extra headers (e.g. `atomic_ci_change_set`), merged over the derived ones. */
  headers?: Record<string, string | number | boolean>;
}

export interface Published {
  id: string;
  routingKey: string;
  schema: string;
}

/**
 * The one API every service uses: publish validated fedora-messaging messages and run
 * consumers, whatever transport is underneath.
 */
export class Bus {
  private readonly consumers = new Set<Consumer>();
  /**
   * routing key → schema (or null: none). `registry.forTopic` matches every schema's topic
   * pattern, which dominated the CPU cost of a publish; a service publishes few distinct
   * routing keys, and the registry does not change after construction.
   */
  private readonly topicSchemas = new Map<string, MessageSchema | null>();
  private closed = false;
  readonly exchange: string;
  readonly topicPrefix: string | undefined;
  readonly userId: string | undefined;

  constructor(
    private readonly deps: BusDeps,
    settings: BusSettings = {},
  ) {
    this.exchange = settings.exchange ?? "amq.topic";
    this.topicPrefix = settings.topicPrefix;
    this.userId = settings.userId;
  }

  get transport(): Transport {
    return this.deps.transport;
  }

  get registry(): SchemaRegistry {
    return this.deps.registry;
  }

  async connect(): Promise<void> {
    await this.deps.transport.connect();
  }

  /**
   * Validate `body` against the topic's schema and publish it; resolves when the broker
   * confirmed it. Unroutable messages, nacks and timeouts reject with a BusError.
   */
  async publish(topic: string, body: unknown, options: PublishOptions = {}): Promise<Published> {
    if (this.closed) throw new BusError("CLOSED", "bus is closed");
    const routingKey = prefixTopic(options.topicPrefix ?? this.topicPrefix, topic);
    const schema = this.schemaFor(routingKey, options.schema);
    const validated = validateBody(schema, body);
    if (!validated.ok) {
      this.deps.metrics.publishInvalid.inc({ topic });
      const detail = validated.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
      throw new InvalidMessageError(`message for ${routingKey} fails ${schema.name}: ${detail}`, validated.issues);
    }
    const wire = encodeMessage(schema, validated.value, {
      routingKey,
      ...(options.severity !== undefined ? { severity: options.severity } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      ...(options.id !== undefined ? { id: options.id } : {}),
    });
    if (options.headers) Object.assign(wire.properties.headers, options.headers);
    if (this.userId !== undefined) wire.properties.userId = this.userId;
    const kind = this.deps.transport.kind;
    const stop = this.deps.metrics.publishSeconds.startTimer({ transport: kind });
    try {
      await this.deps.transport.send(wire, this.exchange);
    } catch (err) {
      const reason = err instanceof BusError ? err.code : "UNKNOWN";
      this.deps.metrics.publishReturns.inc({ transport: kind, reason });
      this.deps.logger.error({ topic: routingKey, message_id: wire.properties.messageId, err: errorMessage(err) }, "publish failed");
      throw err;
    }
    stop();
    this.deps.metrics.publishConfirms.inc({ transport: kind });
    return { id: wire.properties.messageId ?? "", routingKey, schema: schema.name };
  }

  private schemaFor(routingKey: string, name: string | undefined): MessageSchema {
    if (name) {
      const byName = this.deps.registry.byName(name);
      if (!byName) throw new InvalidMessageError(`unknown schema ${name}`, [{ path: "(schema)", message: `no schema named ${name}` }]);
      return byName;
    }
    let schema = this.topicSchemas.get(routingKey);
    if (schema === undefined) {
      if (this.topicSchemas.size >= 1024) this.topicSchemas.clear(); // bound it against unbounded key sets
      schema = this.deps.registry.forTopic(routingKey) ?? null;
      this.topicSchemas.set(routingKey, schema);
    }
    if (!schema) {
      throw new InvalidMessageError(`no schema is registered for topic ${routingKey}`, [{ path: "(topic)", message: "no schema for this topic" }]);
    }
    return schema;
  }

  /** Create and start a consumer. It is stopped (and drained) by `close()`. */
  async consume(options: ConsumerOptions): Promise<Consumer> {
    if (this.closed) throw new BusError("CLOSED", "bus is closed");
    const consumer = new Consumer(options, this.deps);
    await consumer.start();
    this.consumers.add(consumer);
    return consumer;
  }

  /** True when every consumer is consuming and the transport is connected. */
  isConsuming(): boolean {
    if (!this.deps.transport.isConnected() || this.consumers.size === 0) return false;
    for (const c of this.consumers) if (!c.isConsuming()) return false;
    return true;
  }

  /** Stop every consumer (cancel, then drain in-flight handlers). */
  async stopConsuming(): Promise<void> {
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.all(consumers.map((c) => c.stop()));
  }

  /** stop consuming → drain → close the transport. The idempotency store is the caller's. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopConsuming();
    this.closed = true;
    await this.deps.transport.close();
  }
}
