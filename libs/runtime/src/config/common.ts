import { z } from "zod";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export const TRANSPORT_KINDS = ["memory", "amqp", "nats"] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

/**
 * Prefix of the topics we emit. Not `org.fedoraproject.*` (we are not Fedora's
 * infrastructure, and a dev setup must never look like production on a shared broker);
 * a deployment that feeds Fedora sets its own, e.g. `org.centos.prod` for CI results.
 */
export const DEFAULT_TOPIC_PREFIX = "org.atomic-ci.dev";

const url = (schemes: readonly string[]) =>
  z
    .string()
    .refine(
      (u) => URL.canParse(u) && schemes.includes(new URL(u).protocol.slice(0, -1)) && new URL(u).host !== "",
      `must be a URL like ${schemes.map((s) => `${s}://host`).join(" or ")}`,
    )
    .optional();

const amqpSchema = z
  .strictObject({
    url: url(["amqp", "amqps"]).describe("RabbitMQ URL (alias `AMQP_URL`); setting it selects the AMQP transport"),
    tls: z
      .strictObject({
        ca: z.string().min(1).optional().describe("Path to the PEM CA bundle the broker certificate must chain to (amqps:// only)"),
        cert: z.string().min(1).optional().describe("Path to the PEM client certificate; with `key` the login is SASL EXTERNAL"),
        key: z.string().min(1).optional().describe("Path to the PEM private key of `cert`"),
      })
      .prefault({}),
    queueType: z.enum(["quorum", "classic"]).default("quorum").describe("Type of the service queue; quorum queues count redeliveries"),
    userId: z.string().min(1).optional().describe("user_id stamped on publishes (RabbitMQ validates it); default the URL's user, or the client certificate's CN"),
  })
  .prefault({});

const natsSchema = z
  .strictObject({
    url: url(["nats", "tls"]).describe("NATS URL (alias `NATS_URL`); setting it (and no AMQP URL) selects the NATS transport"),
    stream: z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - and _ only").default("ATOMIC_CI").describe("JetStream stream holding the messages"),
  })
  .prefault({});

const busSchema = z
  .strictObject({
    transport: z.enum(TRANSPORT_KINDS).optional().describe("`memory`, `amqp` or `nats`; default `amqp` when `bus.amqp.url` is set, else `nats` when `bus.nats.url` is set, else `memory`"),
    exchange: z.string().min(1).default("amq.topic").describe("Topic exchange messages are published to and queues bind to"),
    topicPrefix: z.string().min(1).default(DEFAULT_TOPIC_PREFIX).describe("Prepended to the topics this service emits"),
    queue: z.string().min(1).optional().describe("Queue of this service (competing replicas share it); default `atomic-ci.<service>`"),
    bindings: z.array(z.string().min(1)).default([]).describe("Routing-key patterns the queue binds to (comma list in env); default: the service's own"),
    prefetch: z.int().min(1).max(65_535).default(10).describe("Unacked messages in flight per consumer"),
    maxDeliveries: z.int().min(1).default(5).describe("Deliveries after which a message that keeps failing is dead-lettered"),
    maxBodyBytes: z.int().min(1).default(1_048_576).describe("Larger message bodies are dead-lettered unread"),
    amqp: amqpSchema,
    nats: natsSchema,
  })
  .superRefine((bus, ctx) => {
    for (const kind of ["amqp", "nats"] as const) {
      if (bus.transport === kind && !bus[kind].url) {
        ctx.addIssue({ code: "custom", path: [kind, "url"], message: `required when bus.transport is ${kind}` });
      }
    }
  })
  // The transport default depends on which URL is set, so it is filled after validation.
  .transform((bus) => ({ ...bus, transport: bus.transport ?? inferTransport(bus) }))
  .prefault({});

function inferTransport(bus: { amqp: { url?: string | undefined }; nats: { url?: string | undefined } }): TransportKind {
  if (bus.amqp.url) return "amqp";
  if (bus.nats.url) return "nats";
  return "memory";
}

/**
 * What every service's configuration has. A service extends it with its own keys:
 * `commonConfigSchema.extend({ composer: z.strictObject({...}).prefault({}) })`.
 * Every key is documented in docs/config.md (generated from the `.describe()` texts).
 */
export const commonConfigSchema = z.strictObject({
  service: z.string().regex(/^[a-z][a-z0-9-]*$/, "lowercase letters, digits and dashes").describe("Service name, on every log line; default the name the service runs as"),
  logLevel: z.enum(LOG_LEVELS).default("info").describe("pino log level"),
  bus: busSchema,
  redis: z
    .strictObject({
      url: url(["redis", "rediss"]).describe("Redis URL (alias `REDIS_URL`) of the idempotency store; unset: in-memory store (embedded mode)"),
      keyPrefix: z.string().min(1).default("atomic-ci:idem").describe("Prefix of idempotency keys (`<prefix>:<queue>:<message id>`)"),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default("0.0.0.0").describe("Address of the /live, /ready and /metrics server"),
      port: z.int().min(0).max(65_535).default(8080).describe("Port of that server; 0 picks a free one"),
    })
    .prefault({}),
  shutdownTimeoutMs: z.int().min(1).default(30_000).describe("Time a graceful shutdown may take before the process exits non-zero"),
});

export type CommonConfig = z.output<typeof commonConfigSchema>;

/** The queue a service consumes from. */
export function queueOf(config: Pick<CommonConfig, "service" | "bus">): string {
  return config.bus.queue ?? `atomic-ci.${config.service}`;
}
