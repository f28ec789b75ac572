import {
  AckPolicy,
  DeliverPolicy,
  Events,
  NatsError,
  connect,
  credsAuthenticator,
  nanos,
  nkeyAuthenticator,
  type ConnectionOptions,
  type JetStreamClient,
  type JetStreamManager,
  type MsgHdrs,
  type NatsConnection,
} from "nats";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import { BusError, errorMessage } from "../errors.js";
import { DEAD_LETTER_HEADERS, type ConsumeSpec, type ConsumerHandle, type DeliveryHandler, type Transport, type TransportEvents, type WireMessage } from "../transport.js";
import { ensureDurable, ensureStreams, supportsMultipleFilters } from "./declare.js";
import { NATS_HEADERS, decodeHeaders, encodeHeaders } from "./headers.js";
import { resolveNatsOptions, type NatsOptions, type ResolvedNatsOptions } from "./options.js";
import { bindingToSubjects, deadLetterSubject, durableName, intersectSubjects, isPublishableSubject, translateBindings } from "./subjects.js";
import { NatsSubscription } from "./subscription.js";

export interface NatsTransportDeps {
  logger?: Logger;
  metrics?: Metrics;
  events?: TransportEvents;
}

interface Connection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  multipleFilters: boolean;
}

function connectOptions(o: ResolvedNatsOptions): ConnectionOptions {
  const encoder = new TextEncoder();
  const options: ConnectionOptions = {
    servers: o.servers,
    timeout: o.connectTimeoutMs,
    maxReconnectAttempts: o.maxReconnectAttempts,
    reconnectTimeWait: o.reconnectTimeWaitMs,
    // A dead server is noticed after about a minute (nats.js default: several minutes).
    pingInterval: 20_000,
    maxPingOut: 3,
  };
  if (o.name !== undefined) options.name = o.name;
  if (o.auth.kind === "user") Object.assign(options, { user: o.auth.user, pass: o.auth.pass });
  if (o.auth.kind === "token") options.token = o.auth.token;
  if (o.auth.kind === "nkey") options.authenticator = nkeyAuthenticator(encoder.encode(o.auth.seed));
  if (o.auth.kind === "creds") options.authenticator = credsAuthenticator(encoder.encode(o.auth.creds));
  if (o.tls) options.tls = { ...o.tls };
  return options;
}

/** Wait for one PubAck attempt before resending a publish that carries a message id. */
const PUBLISH_ATTEMPT_MS = 5_000;

/** A nats.js failure of a publish as the bus's error codes. */
function publishError(err: unknown, subject: string, transportClosed: boolean): BusError {
  if (err instanceof BusError) return err;
  const code = err instanceof NatsError ? err.code : undefined;
  const detail = errorMessage(err);
  switch (code) {
    case "503":
      return new BusError("PUBLISH_RETURNED", `no JetStream stream captures subject ${subject} (unroutable)`, { cause: err });
    case "TIMEOUT":
      return new BusError("PUBLISH_TIMEOUT", `no PubAck for ${subject} in time`, { cause: err });
    case "CONNECTION_CLOSED":
    case "CONNECTION_DRAINING":
      return transportClosed
        ? new BusError("CLOSED", "NATS connection is closed", { cause: err })
        : new BusError("CONNECTION", "NATS connection was lost and not restored (reconnect attempts exhausted)", { cause: err });
    case "PERMISSIONS_VIOLATION":
    case "AUTHORIZATION_VIOLATION":
      return new BusError("PUBLISH_FORBIDDEN", `publishing to ${subject} is not permitted: ${detail}`, { cause: err });
    default:
      return new BusError("PUBLISH_NACKED", `JetStream refused the message to ${subject}: ${detail}`, { cause: err });
  }
}

/**
 * The bus over NATS JetStream.
 *
 * - The fedora-messaging routing key is the NATS subject (both separate words with dots).
 * - There is one stream (`options.stream`) for every exchange: the exchange named by
 *   send/consume is recorded in the `atomic-ci-exchange` header, and a consumer skips
 *   messages sent to another exchange, as an AMQP queue bound to one exchange would.
 * - A consumer's queue is a durable pull consumer (`durableName(queue)`), its bindings
 *   become the consumer's filter subjects (subjects.ts), `prefetch` its `max_ack_pending`.
 * - Unlike AMQP, a publish is accepted when a stream captures the subject even if no
 *   consumer's filter matches (with interest retention it is then dropped); only a subject
 *   outside every stream is unroutable (PUBLISH_RETURNED).
 * - Unacked messages of a process that died come back after `ackWaitMs`, not at once as
 *   with AMQP's channel close.
 */
export class NatsTransport implements Transport {
  readonly kind = "nats" as const;
  private connecting: Promise<Connection> | undefined;
  private connected = false;
  private closed = false;
  private attempt = 0;
  private readonly subscriptions = new Set<NatsSubscription>();
  readonly options: ResolvedNatsOptions;
  private readonly log: Logger | undefined;

  /** Raw options are validated here (BusError CONFIG). */
  constructor(
    options: NatsOptions | ResolvedNatsOptions,
    private readonly deps: NatsTransportDeps = {},
  ) {
    this.options = "redactedServers" in options ? options : resolveNatsOptions(options);
    this.log = deps.logger?.child({ transport: "nats" });
  }

  connect(): Promise<void> {
    return this.connection().then(() => undefined);
  }

  isConnected(): boolean {
    return this.connected && !this.closed;
  }

  private connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new BusError("CLOSED", "transport is closed"));
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async open(): Promise<Connection> {
    let nc: NatsConnection;
    try {
      nc = await connect(connectOptions(this.options));
    } catch (err) {
      this.deps.metrics?.connections.inc({ transport: "nats", result: "failure" });
      // Only the redacted server list goes in the message.
      throw new BusError("CONNECTION", `cannot connect to NATS at ${this.options.redactedServers.join(", ")}: ${errorMessage(err)}`, { cause: err });
    }
    let jsm: JetStreamManager;
    try {
      // Asks the server for the account's JetStream info: fails when JetStream is off.
      jsm = await nc.jetstreamManager({ timeout: this.options.publishTimeoutMs });
    } catch (err) {
      await nc.close();
      throw new BusError("CONNECTION", `NATS server has no JetStream for this account: ${errorMessage(err)}`, { cause: err });
    }
    if (this.closed) {
      await nc.close();
      throw new BusError("CLOSED", "transport is closed");
    }
    const js = nc.jetstream({ timeout: this.options.publishTimeoutMs });
    this.connected = true;
    this.attempt = 1;
    this.deps.metrics?.connections.inc({ transport: "nats", result: "success" });
    this.log?.info({ servers: this.options.redactedServers, server_version: nc.info?.version, stream: this.options.stream }, "NATS connected");
    this.deps.events?.onConnected?.({ attempt: this.attempt });
    void this.watch(nc);
    return { nc, js, jsm, multipleFilters: supportsMultipleFilters(nc.info?.version) };
  }

  /** nats.js reconnects by itself (`maxReconnectAttempts`); this only tracks the state. */
  private async watch(nc: NatsConnection): Promise<void> {
    void nc.closed().then((error) => {
      this.connected = false;
      // Closed without close(): reconnect attempts are exhausted. The next send or consume
      // opens a new connection; consumers of the old one have stopped.
      if (this.closed) return;
      this.connecting = undefined;
      this.log?.error({ err: error ? errorMessage(error) : undefined }, "NATS connection closed; no more reconnection attempts, consumers stopped");
      this.deps.events?.onDisconnected?.(error ? { error } : {});
    });
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        this.connected = false;
        this.deps.metrics?.connections.inc({ transport: "nats", result: "lost" });
        this.log?.warn("NATS connection lost; reconnecting");
        this.deps.events?.onDisconnected?.({});
      } else if (status.type === Events.Reconnect) {
        this.connected = true;
        this.attempt += 1;
        this.deps.metrics?.connections.inc({ transport: "nats", result: "success" });
        this.log?.info({ attempt: this.attempt }, "NATS reconnected");
        this.deps.events?.onConnected?.({ attempt: this.attempt });
      }
    }
  }

  async send(message: WireMessage, exchange: string): Promise<void> {
    const { js } = await this.connection();
    if (!isPublishableSubject(message.routingKey)) {
      throw new BusError("PUBLISH_RETURNED", `routing key ${JSON.stringify(message.routingKey)} is not a valid NATS subject (unroutable)`);
    }
    await this.publish(js, message.routingKey, message.body, encodeHeaders(message.properties, { exchange }));
  }

  /**
   * Publish and wait for the PubAck. A request lost with a dropped connection is never
   * answered, so while the deadline allows it is sent again after a shorter wait; with a
   * message id (Nats-Msg-Id) JetStream stores it once however often it arrived. Without an
   * id one attempt gets the whole timeout, as a resend could store a duplicate.
   */
  private async publish(js: JetStreamClient, subject: string, data: Uint8Array, headers: MsgHdrs): Promise<void> {
    const deadline = Date.now() + this.options.publishTimeoutMs;
    const canResend = headers.has(NATS_HEADERS.msgId);
    for (;;) {
      if (this.closed) throw new BusError("CLOSED", "transport is closed");
      const remaining = deadline - Date.now();
      const timeout = canResend ? Math.min(remaining, PUBLISH_ATTEMPT_MS) : remaining;
      try {
        await js.publish(subject, data, { headers, timeout });
        return;
      } catch (err) {
        const error = publishError(err, subject, this.closed);
        if (error.code !== "PUBLISH_TIMEOUT" || deadline - Date.now() < 50) throw error;
      }
    }
  }

  /** Subject the dead-lettered copies of a consumer (its `deadLetter` name) are published to. */
  deadLetterSubject(deadLetter: string): string {
    return deadLetterSubject(deadLetter, this.options.deadLetterPrefix);
  }

  async consume(spec: ConsumeSpec, handler: DeliveryHandler): Promise<ConsumerHandle> {
    const conn = await this.connection();
    if (spec.bindings.length === 0) throw new BusError("DECLARATION", `consumer ${spec.queue} has no bindings`);
    const durable = durableName(spec.queue);
    const declare = async () => {
      const streamSubjects = await ensureStreams(conn.jsm, this.options);
      // A binding no stream subject overlaps could never receive anything: almost certainly
      // a missing entry in `subjects`, so say so instead of consuming nothing.
      const outside = spec.bindings.filter((b) => !bindingToSubjects(b).subjects.some((s) => streamSubjects.some((t) => intersectSubjects(s, t) !== undefined)));
      if (outside.length > 0) {
        throw new BusError("DECLARATION", `bindings ${outside.join(", ")} of ${spec.queue} are outside the subjects of stream ${this.options.stream} (${streamSubjects.join(", ")})`);
      }
      const filter = translateBindings(spec.bindings, { streamSubjects, multipleFilters: conn.multipleFilters });
      await ensureDurable(conn.jsm, { stream: this.options.stream, durable, spec, filter, ackWaitMs: this.options.ackWaitMs, multipleFilters: conn.multipleFilters });
    };
    await declare();
    if (this.closed) throw new BusError("CLOSED", "transport is closed");
    const subscription = new NatsSubscription({
      js: conn.js,
      options: this.options,
      spec,
      durable,
      deadLetterSubject: this.deadLetterSubject(spec.deadLetter),
      handler,
      redeclare: declare,
      publish: (subject, data, headers) => this.publish(conn.js, subject, data, headers),
      usable: () => !this.closed && !conn.nc.isClosed(),
      log: this.log,
    });
    this.subscriptions.add(subscription);
    subscription.start();
    return {
      cancel: async () => {
        await subscription.cancel();
        this.subscriptions.delete(subscription);
      },
    };
  }

  /**
   * Stop every consumer, let in-flight deliveries settle (up to `closeTimeoutMs`; the
   * consumer pipeline normally drained them already), then drain the connection so
   * buffered acks and publishes reach the server.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conn = await this.connecting?.catch(() => undefined);
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((s) => s.cancel()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(subscriptions.map((s) => s.idle())),
      new Promise((resolve) => (timer = setTimeout(resolve, this.options.closeTimeoutMs))),
    ]);
    clearTimeout(timer);
    for (const s of subscriptions) s.dispose();
    this.connected = false;
    if (!conn || conn.nc.isClosed()) return;
    try {
      await conn.nc.drain();
    } catch {
      await conn.nc.close();
    }
  }

  /**
   * The dead-lettered copies of a consumer currently stored (oldest first), without removing
   * them: reads through a short-lived ephemeral consumer filtered to the dead-letter subject.
   * For tests, the CLI and operators.
   */
  async readDeadLetters(deadLetter: string, limit = 1000): Promise<WireMessage[]> {
    const { js, jsm } = await this.connection();
    const info = await jsm.consumers.add(this.options.deadLetterStream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.deadLetterSubject(deadLetter),
      inactive_threshold: nanos(60_000),
    });
    try {
      const count = Math.min(limit, info.num_pending);
      const out: WireMessage[] = [];
      if (count === 0) return out;
      const consumer = await js.consumers.get(this.options.deadLetterStream, info.name);
      for await (const msg of await consumer.fetch({ max_messages: count, expires: 5_000 })) {
        const { properties } = decodeHeaders(msg.headers);
        const original = properties.headers[DEAD_LETTER_HEADERS.routingKey];
        out.push({ routingKey: typeof original === "string" ? original : msg.subject, body: Buffer.from(msg.data), properties });
        if (out.length >= count) break;
      }
      return out;
    } finally {
      await jsm.consumers.delete(this.options.deadLetterStream, info.name).catch(() => undefined);
    }
  }
}
