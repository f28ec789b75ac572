import type { Logger, Metrics } from "@atomic-ci/telemetry";
import { BusError } from "../errors.js";
import type { ConsumeSpec, ConsumerHandle, DeliveryHandler, Transport, TransportEvents, WireMessage } from "../transport.js";
import { AmqpConnectionManager } from "./connection.js";
import { resolveAmqpOptions, type AmqpOptions, type ResolvedAmqpOptions } from "./options.js";
import { AmqpPublisher } from "./publisher.js";
import { AmqpSubscription } from "./subscription.js";

export interface AmqpTransportDeps {
  logger?: Logger;
  metrics?: Metrics;
  events?: TransportEvents;
}

/**
 * RabbitMQ through amqplib, speaking the fedora-messaging wire format: confirmed,
 * mandatory, persistent publishes; durable (quorum) queues with manual acks; reconnection
 * that restores every consumer.
 */
export class AmqpTransport implements Transport {
  readonly kind = "amqp" as const;
  readonly options: ResolvedAmqpOptions;
  private readonly connection: AmqpConnectionManager;
  private readonly publisher: AmqpPublisher;
  private readonly subscriptions = new Set<AmqpSubscription>();
  private readonly log: Logger | undefined;
  private closed = false;

  /** Takes raw or already resolved options; throws BusError CONFIG for invalid ones. */
  constructor(options: AmqpOptions | ResolvedAmqpOptions, deps: AmqpTransportDeps = {}) {
    this.options = isResolved(options) ? options : resolveAmqpOptions(options);
    this.log = deps.logger?.child({ transport: "amqp" });
    this.connection = new AmqpConnectionManager(this.options, { logger: this.log, metrics: deps.metrics, events: deps.events });
    this.publisher = new AmqpPublisher(this.connection, this.options.publishTimeoutMs, this.log, this.options.userId);
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new BusError("CLOSED", "AMQP transport is closed"));
    return this.connection.connect();
  }

  isConnected(): boolean {
    return !this.closed && this.connection.isConnected();
  }

  send(message: WireMessage, exchange: string): Promise<void> {
    if (this.closed) return Promise.reject(new BusError("CLOSED", "AMQP transport is closed"));
    // Once connected, a lost connection is the publisher's to wait out (up to publishTimeoutMs).
    if (this.connection.isConnected()) return this.publisher.send(message, exchange);
    return this.connect().then(() => this.publisher.send(message, exchange));
  }

  async consume(spec: ConsumeSpec, handler: DeliveryHandler): Promise<ConsumerHandle> {
    await this.connect();
    const subscription = new AmqpSubscription(spec, handler, { connection: this.connection, publisher: this.publisher, options: this.options, log: this.log });
    await subscription.start();
    if (this.closed) {
      await subscription.close();
      throw new BusError("CLOSED", "AMQP transport closed while starting a consumer");
    }
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Publishes and consumers waiting for the connection (tests, health). */
  get pendingPublishes(): number {
    return this.publisher.outstanding();
  }

  /**
   * No more reconnections; in-flight publishes get `closeTimeoutMs` for their confirms, the
   * rest reject with CLOSED; then channels (unsettled deliveries go back) and connection close.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.stopReconnecting();
    await this.publisher.close(this.options.closeTimeoutMs);
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.subscriptions.clear();
    await this.connection.close();
  }
}

function isResolved(options: AmqpOptions | ResolvedAmqpOptions): options is ResolvedAmqpOptions {
  return "socket" in options && "redactedUrl" in options;
}
