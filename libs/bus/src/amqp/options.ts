import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { ConnectionOptions } from "node:tls";
import { credentials, type Options } from "amqplib";
import { redactUrl } from "@atomic-ci/telemetry";
import { z } from "zod";
import { BusError } from "../errors.js";
import { parseTransportOptions } from "../options.js";

/**
 * Options of the AMQP transport as callers write them (config files, env). Everything but
 * `url` has a default; `resolveAmqpOptions` validates and fills them in one place.
 */
export interface AmqpOptions {
  /** `amqp://user:pass@host:port/vhost` or `amqps://...`; the password is never logged. */
  url: string;
  /** TLS material (only with `amqps://`). File paths, read once at resolve time. */
  tls?: AmqpTlsOptions;
  /** Shown in the RabbitMQ management UI, like fedora-messaging's client properties. */
  clientProperties?: AmqpClientProperties;
  /** AMQP heartbeat: a dead peer is noticed after about twice this. Default 30. */
  heartbeatSeconds?: number;
  /** Backoff between reconnection attempts. */
  reconnect?: Partial<ReconnectPolicy>;
  /** How long a publish may wait for a reconnect plus its confirm before PUBLISH_TIMEOUT. Default 30000. */
  publishTimeoutMs?: number;
  /** How long `close()` lets in-flight publishes get their confirm. Default 5000. */
  closeTimeoutMs?: number;
  /** TCP+AMQP handshake timeout of one connection attempt. Default 10000. */
  connectTimeoutMs?: number;
  /** Queue type of consumer queues; quorum queues count redeliveries (`x-delivery-count`). Default quorum. */
  queueType?: "quorum" | "classic";
  /** Extra `x-...` arguments for every consumer queue (e.g. `x-max-length`). */
  queueArguments?: Record<string, unknown>;
  /**
   * user_id stamped on publishes. Default: the URL's user, or with a client certificate its
   * subject CN (RabbitMQ with `ssl_cert_login_from = common_name`). Set it when the broker
   * derives another name, or RabbitMQ refuses every publish.
   */
  userId?: string;
}

export interface AmqpTlsOptions {
  /** Path to the PEM CA bundle the broker certificate must chain to (default: Node's CAs). */
  ca?: string;
  /** Path to the PEM client certificate; with `key` the login is SASL EXTERNAL (x509). */
  cert?: string;
  /** Path to the PEM private key of `cert`. */
  key?: string;
  /** Passphrase of `key`; never logged. */
  passphrase?: string;
  /** SNI and certificate hostname to check; default the URL's host. */
  servername?: string;
  /** Verify the broker certificate (default true; turning it off is for debugging only). */
  rejectUnauthorized?: boolean;
}

export interface AmqpClientProperties {
  /** Application name (fedora-messaging's `app`). */
  app?: string;
  /** Where to learn about the application. */
  app_url?: string;
  /** Who to contact about its connections. */
  app_contacts_email?: string;
  /** Connection name shown by `rabbitmqctl list_connections client_properties`. */
  connection_name?: string;
}

export interface ReconnectPolicy {
  /** First delay after a connection loss. */
  initialDelayMs: number;
  /** Delays never exceed this. */
  maxDelayMs: number;
  /** Each failed attempt multiplies the delay by this. */
  factor: number;
  /** Random spread as a fraction of the delay (0.2 → ±20%), so clients do not reconnect in lockstep. */
  jitter: number;
}

/** Validated options. Holds secrets: log `redactedUrl`, never the object itself (toJSON is redacted). */
export interface ResolvedAmqpOptions {
  url: string;
  redactedUrl: string;
  /** amqplib's connect argument (host, port, credentials of the URL, vhost, heartbeat). */
  connect: Options.Connect;
  /** amqplib's socket options: TLS material, SASL mechanism, client properties, timeout. */
  socket: AmqpSocketOptions;
  heartbeatSeconds: number;
  /**
   * The user_id stamped on every publish: RabbitMQ refuses a message whose user_id is not the
   * connection's user, so consumers can trust it (the publisher accepts gate decisions only from
   * the gatekeeper's account). Undefined with TLS client certificates (EXTERNAL: the broker
   * derives the user from the certificate, which we do not parse).
   */
  userId: string | undefined;
  reconnect: ReconnectPolicy;
  publishTimeoutMs: number;
  closeTimeoutMs: number;
  queueType: "quorum" | "classic";
  queueArguments: Record<string, unknown>;
  clientProperties: AmqpClientProperties;
  toJSON(): Record<string, unknown>;
}

export interface AmqpSocketOptions extends ConnectionOptions {
  clientProperties: Record<string, unknown>;
  credentials?: ReturnType<typeof credentials.external>;
  timeout: number;
  noDelay: boolean;
}

export const AMQP_DEFAULTS = {
  heartbeatSeconds: 30,
  reconnect: { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2 },
  publishTimeoutMs: 30_000,
  closeTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  queueType: "quorum",
  /** `app` client property when the caller sets none. */
  app: "atomic-ci",
} as const;

const amqpUrl = z.string().refine((url) => /^amqps?:\/\/[^/]/.test(url) && URL.canParse(url), "must be an amqp:// or amqps:// URL");

const schema = z.strictObject({
  url: amqpUrl,
  tls: z
    .strictObject({
      ca: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      passphrase: z.string().optional(),
      servername: z.string().min(1).optional(),
      rejectUnauthorized: z.boolean().optional(),
    })
    .optional(),
  clientProperties: z
    .strictObject({ app: z.string(), app_url: z.string(), app_contacts_email: z.string(), connection_name: z.string() })
    .partial()
    .optional(),
  heartbeatSeconds: z.int().min(0).max(3600).default(AMQP_DEFAULTS.heartbeatSeconds),
  reconnect: z
    .strictObject({
      initialDelayMs: z.number().positive().default(AMQP_DEFAULTS.reconnect.initialDelayMs),
      maxDelayMs: z.number().positive().default(AMQP_DEFAULTS.reconnect.maxDelayMs),
      factor: z.number().min(1).default(AMQP_DEFAULTS.reconnect.factor),
      jitter: z.number().min(0).max(1).default(AMQP_DEFAULTS.reconnect.jitter),
    })
    .default(AMQP_DEFAULTS.reconnect),
  publishTimeoutMs: z.number().positive().default(AMQP_DEFAULTS.publishTimeoutMs),
  closeTimeoutMs: z.number().min(0).default(AMQP_DEFAULTS.closeTimeoutMs),
  connectTimeoutMs: z.number().positive().default(AMQP_DEFAULTS.connectTimeoutMs),
  queueType: z.enum(["quorum", "classic"]).default(AMQP_DEFAULTS.queueType),
  queueArguments: z.record(z.string(), z.unknown()).default({}),
  userId: z.string().min(1).optional(),
});

/** The subject CN of a PEM certificate: the broker user of an EXTERNAL login (common_name mode). */
function commonName(pem: unknown): string | undefined {
  if (typeof pem !== "string") return undefined;
  try {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(pem).subject)?.[1];
    return cn?.trim() || undefined;
  } catch {
    return undefined;
  }
}

function readPem(kind: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new BusError("CONFIG", `cannot read TLS ${kind} file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Validate options, apply defaults, read TLS files. Throws BusError CONFIG (without secrets). */
export function resolveAmqpOptions(options: AmqpOptions): ResolvedAmqpOptions {
  const o = parseTransportOptions(schema, options, "AMQP");
  const url = new URL(o.url);
  const secure = url.protocol === "amqps:";
  const tls = o.tls ?? {};
  if (o.tls && !secure) throw new BusError("CONFIG", "AMQP TLS options need an amqps:// URL");
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new BusError("CONFIG", "AMQP TLS needs both cert and key, or neither");
  if (o.reconnect.maxDelayMs < o.reconnect.initialDelayMs) throw new BusError("CONFIG", "reconnect.maxDelayMs is below reconnect.initialDelayMs");

  const vhost = decodeURIComponent(url.pathname.slice(1)) || "/";
  const connect: Options.Connect = {
    protocol: secure ? "amqps" : "amqp",
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : secure ? 5671 : 5672,
    // amqplib's own rule: guest/guest only when the URL names no user at all.
    username: url.username || url.password ? decodeURIComponent(url.username) : "guest",
    password: url.username || url.password ? decodeURIComponent(url.password) : "guest",
    vhost,
    heartbeat: o.heartbeatSeconds,
    frameMax: 131_072,
  };
  const app = o.clientProperties?.app ?? AMQP_DEFAULTS.app;
  const clientProperties: AmqpClientProperties = {
    ...o.clientProperties,
    app,
    connection_name: o.clientProperties?.connection_name ?? `${app} ${hostname()} pid ${process.pid}`,
  };
  // noDelay as pika: a lone publish or ack goes out at once instead of waiting on Nagle.
  const socket: AmqpSocketOptions = { clientProperties: { ...clientProperties }, timeout: o.connectTimeoutMs, noDelay: true };
  if (secure) {
    // Hostname checking is Node's default checkServerIdentity; it needs rejectUnauthorized.
    socket.minVersion = "TLSv1.2";
    socket.rejectUnauthorized = tls.rejectUnauthorized ?? true;
    socket.servername = tls.servername ?? connect.hostname ?? "";
    if (tls.ca) socket.ca = readPem("ca", tls.ca);
    if (tls.cert && tls.key) {
      socket.cert = readPem("cert", tls.cert);
      socket.key = readPem("key", tls.key);
      if (tls.passphrase !== undefined) socket.passphrase = tls.passphrase;
      socket.credentials = credentials.external();
    }
  }
  const redactedUrl = redactUrl(o.url);
  const resolved: ResolvedAmqpOptions = {
    url: o.url,
    redactedUrl,
    connect,
    socket,
    userId: o.userId ?? (socket.credentials ? commonName(socket.cert) : connect.username),
    heartbeatSeconds: o.heartbeatSeconds,
    reconnect: o.reconnect,
    publishTimeoutMs: o.publishTimeoutMs,
    closeTimeoutMs: o.closeTimeoutMs,
    queueType: o.queueType,
    queueArguments: o.queueArguments,
    clientProperties,
    toJSON: () => ({
      url: redactedUrl,
      tls: secure ? { ca: tls.ca, cert: tls.cert, external: Boolean(socket.credentials) } : undefined,
      heartbeatSeconds: o.heartbeatSeconds,
      reconnect: o.reconnect,
      publishTimeoutMs: o.publishTimeoutMs,
      queueType: o.queueType,
      clientProperties,
    }),
  };
  return resolved;
}

/** Delay before reconnection attempt `attempt` (1-based), with jitter, capped at maxDelayMs. */
export function reconnectDelay(policy: ReconnectPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1));
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(policy.maxDelayMs, Math.round(base + spread)));
}
