import { readFileSync } from "node:fs";
import { z } from "zod";
import { BusError } from "../errors.js";
import { parseTransportOptions } from "../options.js";
import { subjectsOverlap } from "./subjects.js";

/**
 * Options of the NATS JetStream transport as callers write them (config files, env).
 * Everything but `servers` has a default; `resolveNatsOptions` validates and fills them in
 * one place. Secrets (pass, token, nkey seed, creds) are never logged.
 */
export interface NatsOptions {
  /** `nats://host:port` (or `tls://`), one or several; credentials in a URL are redacted in logs. */
  servers: string | readonly string[];
  /** Connection name shown by `nats server report connections`. */
  name?: string;
  /** The stream every bus message is stored in. Default `ATOMIC_CI`. */
  stream?: string;
  /** Subjects that stream captures: publishing outside them is unroutable. Default `org.>`, `ci.>`. */
  subjects?: readonly string[];
  /** The stream dead-lettered copies go to. Default `<stream>_DLQ`. */
  deadLetterStream?: string;
  /** Subject prefix of dead-lettered copies (must not overlap `subjects`). Default `atomic-ci.dead-letter`. */
  deadLetterPrefix?: string;
  /** `interest` keeps a message until every consumer whose filter matches acked it (like AMQP queues). Default `interest`. */
  retention?: "interest" | "limits";
  /** Messages older than this are removed from the main stream even if unacked. Default 7 days. */
  maxAgeMs?: number;
  /** Dead-lettered copies are kept this long. Default 30 days. */
  deadLetterMaxAgeMs?: number;
  /** Publishes with the same message id within this window are stored once. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Stream replicas (1 for a single server, 3 for a cluster). Default 1. */
  replicas?: number;
  /** User name for user/password authentication. */
  user?: string;
  /** Password; never logged. */
  pass?: string;
  /** Token authentication; never logged. */
  token?: string;
  /** Path to a file holding the user's nkey seed (`SU...`); read at resolve time. */
  nkey?: string;
  /** Path to a `.creds` file (JWT + nkey seed); read at resolve time. */
  credsFile?: string;
  /** TLS material, as file paths read at resolve time. Any of them turns TLS on. */
  tls?: NatsTlsOptions;
  /** How long the server waits for an ack before redelivering. Default 60000. */
  ackWaitMs?: number;
  /** How long a publish waits for its PubAck (including a reconnect) before PUBLISH_TIMEOUT. Default 30000. */
  publishTimeoutMs?: number;
  /** Timeout of one connection attempt. Default 10000. */
  connectTimeoutMs?: number;
  /** Reconnection attempts after a connection loss; -1 retries forever. Default -1. */
  maxReconnectAttempts?: number;
  /** Wait between reconnection attempts to the same server. Default 2000. */
  reconnectTimeWaitMs?: number;
  /** Delay before a requeued (nak'ed) message is redelivered. Default 1000. */
  nakDelayMs?: number;
  /** How long `close()` lets in-flight deliveries settle before draining the connection. Default 5000. */
  closeTimeoutMs?: number;
}

export interface NatsTlsOptions {
  /** Path to the PEM CA bundle the server certificate must chain to. */
  ca?: string;
  /** Path to the PEM client certificate (mutual TLS). */
  cert?: string;
  /** Path to the PEM private key of `cert`. */
  key?: string;
}

/** Validated options. Holds secrets: log `toJSON()` (redacted), never the fields themselves. */
export interface ResolvedNatsOptions {
  servers: string[];
  /** `servers` with credentials replaced by `***`, for logs and errors. */
  redactedServers: string[];
  name: string | undefined;
  stream: string;
  subjects: string[];
  deadLetterStream: string;
  deadLetterPrefix: string;
  retention: "interest" | "limits";
  maxAgeMs: number;
  deadLetterMaxAgeMs: number;
  duplicateWindowMs: number;
  replicas: number;
  auth: NatsAuth;
  /** PEM contents (not paths) of the TLS files, when TLS is on. */
  tls: { ca?: string; cert?: string; key?: string } | undefined;
  ackWaitMs: number;
  publishTimeoutMs: number;
  connectTimeoutMs: number;
  maxReconnectAttempts: number;
  reconnectTimeWaitMs: number;
  nakDelayMs: number;
  closeTimeoutMs: number;
  toJSON(): Record<string, unknown>;
}

/** One authentication method, with its secret material already read. */
export type NatsAuth =
  | { kind: "none" }
  | { kind: "user"; user: string; pass: string }
  | { kind: "token"; token: string }
  | { kind: "nkey"; seed: string }
  | { kind: "creds"; creds: string };

const DAY = 24 * 3600_000;

export const NATS_DEFAULTS = {
  stream: "ATOMIC_CI",
  subjects: ["org.>", "ci.>"],
  deadLetterPrefix: "atomic-ci.dead-letter",
  retention: "interest",
  maxAgeMs: 7 * DAY,
  deadLetterMaxAgeMs: 30 * DAY,
  duplicateWindowMs: 120_000,
  replicas: 1,
  ackWaitMs: 60_000,
  publishTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxReconnectAttempts: -1,
  reconnectTimeWaitMs: 2_000,
  nakDelayMs: 1_000,
  closeTimeoutMs: 5_000,
} as const;

// JetStream stream names end up in API subjects: no dots, wildcards, whitespace or path separators.
const streamName = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, "letters, digits, '_' and '-' only");
const serverUrl = z.string().refine((s) => /^(nats|tls|wss?):\/\/[^/]/.test(s) || /^[^/:\s]+:\d+$/.test(s), "must be a nats:// or tls:// URL, or host:port");
// A subject pattern a stream can capture: non-empty tokens, `>` only last, no whitespace.
const streamSubject = z.string().refine((s) => {
  const tokens = s.split(".");
  return tokens.every((t, i) => t.length > 0 && !/\s/.test(t) && (t !== ">" || i === tokens.length - 1) && (t.length === 1 || !/[*>]/.test(t)));
}, "must be a NATS subject (dot-separated non-empty tokens, `*` or a final `>` as wildcards)");
const subjectPrefix = streamSubject.refine((s) => !/[*>]/.test(s), "must not contain wildcards");

const schema = z.strictObject({
  servers: z.union([serverUrl, z.array(serverUrl).min(1)]),
  name: z.string().min(1).optional(),
  stream: streamName.default(NATS_DEFAULTS.stream),
  subjects: z.array(streamSubject).min(1).default([...NATS_DEFAULTS.subjects]),
  deadLetterStream: streamName.optional(),
  deadLetterPrefix: subjectPrefix.default(NATS_DEFAULTS.deadLetterPrefix),
  retention: z.enum(["interest", "limits"]).default(NATS_DEFAULTS.retention),
  maxAgeMs: z.number().positive().default(NATS_DEFAULTS.maxAgeMs),
  deadLetterMaxAgeMs: z.number().positive().default(NATS_DEFAULTS.deadLetterMaxAgeMs),
  duplicateWindowMs: z.number().positive().default(NATS_DEFAULTS.duplicateWindowMs),
  replicas: z.int().min(1).max(5).default(NATS_DEFAULTS.replicas),
  user: z.string().min(1).optional(),
  pass: z.string().optional(),
  token: z.string().min(1).optional(),
  nkey: z.string().min(1).optional(),
  credsFile: z.string().min(1).optional(),
  tls: z.strictObject({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).optional(),
  ackWaitMs: z.number().min(1000).default(NATS_DEFAULTS.ackWaitMs),
  publishTimeoutMs: z.number().positive().default(NATS_DEFAULTS.publishTimeoutMs),
  connectTimeoutMs: z.number().positive().default(NATS_DEFAULTS.connectTimeoutMs),
  maxReconnectAttempts: z.int().min(-1).default(NATS_DEFAULTS.maxReconnectAttempts),
  reconnectTimeWaitMs: z.number().min(0).default(NATS_DEFAULTS.reconnectTimeWaitMs),
  nakDelayMs: z.number().min(0).default(NATS_DEFAULTS.nakDelayMs),
  closeTimeoutMs: z.number().min(0).default(NATS_DEFAULTS.closeTimeoutMs),
});

function readSecretFile(kind: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    // The path is not secret; the contents would be, and are not in the message.
    throw new BusError("CONFIG", `cannot read NATS ${kind} file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Credentials in a server URL (user:pass, or a token as user) are replaced by `***`. */
function redactServer(server: string): string {
  if (!server.includes("://")) return server;
  try {
    const u = new URL(server);
    if (u.password) u.password = "***";
    else if (u.username) u.username = "***";
    return u.toString();
  } catch {
    return "<unparseable url>";
  }
}

/** Validate options, apply defaults, read secret files. Throws BusError CONFIG (without secrets). */
export function resolveNatsOptions(options: NatsOptions): ResolvedNatsOptions {
  const o = parseTransportOptions(schema, options, "NATS");
  const methods = [o.user !== undefined, o.token !== undefined, o.nkey !== undefined, o.credsFile !== undefined].filter(Boolean).length;
  if (methods > 1) throw new BusError("CONFIG", "NATS options: use only one of user/pass, token, nkey, credsFile");
  if (o.pass !== undefined && o.user === undefined) throw new BusError("CONFIG", "NATS options: pass needs user");
  if (o.tls && (o.tls.cert === undefined) !== (o.tls.key === undefined)) throw new BusError("CONFIG", "NATS TLS needs both cert and key, or neither");
  const deadLetterStream = o.deadLetterStream ?? `${o.stream}_DLQ`;
  if (deadLetterStream === o.stream) throw new BusError("CONFIG", "NATS options: deadLetterStream must differ from stream");
  // Two streams may not capture the same subject: the server refuses the second one.
  const clash = o.subjects.find((s) => subjectsOverlap(s, `${o.deadLetterPrefix}.>`));
  if (clash) throw new BusError("CONFIG", `NATS options: subject ${clash} overlaps the dead-letter subjects ${o.deadLetterPrefix}.>`);

  let auth: NatsAuth = { kind: "none" };
  if (o.user !== undefined) auth = { kind: "user", user: o.user, pass: o.pass ?? "" };
  else if (o.token !== undefined) auth = { kind: "token", token: o.token };
  else if (o.nkey !== undefined) auth = { kind: "nkey", seed: readSecretFile("nkey seed", o.nkey).trim() };
  else if (o.credsFile !== undefined) auth = { kind: "creds", creds: readSecretFile("creds", o.credsFile) };

  const tls = o.tls
    ? {
        ...(o.tls.ca ? { ca: readSecretFile("TLS ca", o.tls.ca) } : {}),
        ...(o.tls.cert ? { cert: readSecretFile("TLS cert", o.tls.cert) } : {}),
        ...(o.tls.key ? { key: readSecretFile("TLS key", o.tls.key) } : {}),
      }
    : undefined;
  const servers = typeof o.servers === "string" ? [o.servers] : [...o.servers];
  const redacted = servers.map(redactServer);
  return {
    servers,
    redactedServers: redacted,
    name: o.name,
    stream: o.stream,
    subjects: o.subjects,
    deadLetterStream,
    deadLetterPrefix: o.deadLetterPrefix,
    retention: o.retention,
    maxAgeMs: o.maxAgeMs,
    deadLetterMaxAgeMs: o.deadLetterMaxAgeMs,
    duplicateWindowMs: o.duplicateWindowMs,
    replicas: o.replicas,
    auth,
    tls,
    ackWaitMs: o.ackWaitMs,
    publishTimeoutMs: o.publishTimeoutMs,
    connectTimeoutMs: o.connectTimeoutMs,
    maxReconnectAttempts: o.maxReconnectAttempts,
    reconnectTimeWaitMs: o.reconnectTimeWaitMs,
    nakDelayMs: o.nakDelayMs,
    closeTimeoutMs: o.closeTimeoutMs,
    toJSON: () => ({
      servers: redacted,
      stream: o.stream,
      subjects: o.subjects,
      deadLetterStream,
      deadLetterPrefix: o.deadLetterPrefix,
      retention: o.retention,
      auth: auth.kind === "user" ? { kind: "user", user: auth.user } : { kind: auth.kind },
      tls: o.tls ? { ca: o.tls.ca, cert: o.tls.cert } : undefined,
      ackWaitMs: o.ackWaitMs,
      publishTimeoutMs: o.publishTimeoutMs,
      nakDelayMs: o.nakDelayMs,
    }),
  };
}
