import { createHash, randomUUID as uuid } from "node:crypto";
import { Severity, schemaHeaders, validateBody, type MessageSchema, type SchemaRegistry } from "@atomic-ci/messages";
import type { Headers, WireMessage, WireProperties, DeadLetterReason } from "./transport.js";

/** A decoded, validated message as handlers see it. */
export interface BusMessage<T = unknown> {
  /** `message_id`: a UUID v4 for messages we publish; whatever the sender used otherwise. */
  id: string;
  /** Full routing key, prefix included (fedora-messaging does not strip it). */
  topic: string;
  /** Name of the schema the body was validated against (`base.message` when unknown). */
  schema: string;
  headers: Headers;
  body: T;
  severity: Severity;
  /** `sent-at` header, when present. */
  sentAt?: string;
  priority?: number;
  /**
   * AMQP user_id: on RabbitMQ, the account that published (the broker validates it). Absent
   * when the sender set none, and on NATS (which does not carry it).
   */
  userId?: string;
}

export const FEDORA_MESSAGING_HEADERS = {
  schema: "fedora_messaging_schema",
  schemaPackage: "fedora_messaging_schema_package",
  severity: "fedora_messaging_severity",
  sentAt: "sent-at",
  priority: "priority",
} as const;

const lastSentAt = { second: Number.NaN, text: "" };

/** `sent-at` format: UTC ISO 8601 without fractional seconds, `+00:00` offset. */
export function sentAtNow(now?: Date): string {
  const ms = now ? now.getTime() : Date.now();
  const second = Math.floor(ms / 1000);
  // Formatting showed up in publish profiles; the text only changes once a second.
  if (second !== lastSentAt.second) {
    lastSentAt.second = second;
    lastSentAt.text = new Date(second * 1000).toISOString().replace(".000Z", "+00:00");
  }
  return lastSentAt.text;
}

export interface EncodeOptions {
  /** Full routing key. */
  routingKey: string;
  severity?: Severity;
  priority?: number;
  /** Override the generated UUID v4 (tests, replays). */
  id?: string;
  now?: Date;
}

/** Build the wire form of a message exactly as fedora-messaging's publisher does. */
export function encodeMessage<T>(schema: MessageSchema<T>, body: T, options: EncodeOptions): WireMessage {
  const priority = options.priority ?? schema.priority?.(body);
  // schemaHeaders returns a fresh object: completed in place rather than copied (hot path).
  const headers: Headers = schemaHeaders(schema, body, options.severity ?? schema.severity ?? Severity.INFO);
  headers[FEDORA_MESSAGING_HEADERS.sentAt] = sentAtNow(options.now);
  headers[FEDORA_MESSAGING_HEADERS.priority] = priority ?? 0;
  const properties: WireProperties = {
    contentType: "application/json",
    contentEncoding: "utf-8",
    deliveryMode: 2,
    messageId: options.id ?? uuid(),
    headers,
  };
  if (priority !== undefined) properties.priority = priority;
  return { routingKey: options.routingKey, body: Buffer.from(JSON.stringify(body), "utf8"), properties };
}

/** Strict (fatal) UTF-8 decoder, made once: it keeps no state between `decode` calls. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export type DecodeResult =
  | { ok: true; message: BusMessage; schema: MessageSchema }
  | { ok: false; reason: DeadLetterReason; detail: string };

export interface DecodeOptions {
  registry: SchemaRegistry;
  /** Bodies larger than this are rejected before parsing. */
  maxBodyBytes: number;
}

const SEVERITIES = new Set<number>(Object.values(Severity));

/**
 * Decode and validate a delivery the way a fedora-messaging consumer does: lenient about
 * missing headers (no schema → topic lookup, then the base message; no severity → INFO; no
 * content encoding → UTF-8), strict about the body (JSON object valid against its schema).
 */
export function decodeMessage(
  wire: Pick<WireMessage, "routingKey" | "body" | "properties">,
  options: DecodeOptions,
): DecodeResult {
  const { properties, body, routingKey } = wire;
  if (body.length > options.maxBodyBytes) {
    return { ok: false, reason: "too-large", detail: `body is ${body.length} bytes, limit is ${options.maxBodyBytes}` };
  }
  const contentType = properties.contentType?.split(";")[0]?.trim().toLowerCase();
  if (contentType && contentType !== "application/json") {
    return { ok: false, reason: "content-type", detail: `content type ${JSON.stringify(properties.contentType)} is not application/json` };
  }
  const encoding = properties.contentEncoding?.trim().toLowerCase();
  if (encoding && encoding !== "utf-8" && encoding !== "utf8") {
    return { ok: false, reason: "content-encoding", detail: `content encoding ${JSON.stringify(properties.contentEncoding)} is not utf-8` };
  }
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    return { ok: false, reason: "not-json", detail: "body is not valid UTF-8" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: "not-json", detail: `body is not JSON: ${(err as Error).message}` };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed;
    return { ok: false, reason: "not-an-object", detail: `body is ${kind}, a JSON object is required` };
  }
  const headers = properties.headers;
  const schemaHeader = headers[FEDORA_MESSAGING_HEADERS.schema];
  const schema = options.registry.resolve({
    schemaHeader: typeof schemaHeader === "string" ? schemaHeader : undefined,
    topic: routingKey,
  });
  const validated = validateBody(schema, parsed);
  if (!validated.ok) {
    const detail = validated.issues.map((i) => `${i.path}: ${i.message}`).join("; ");
    return { ok: false, reason: "schema", detail: `${schema.name}: ${detail}` };
  }
  const rawSeverity = headers[FEDORA_MESSAGING_HEADERS.severity];
  const severity = typeof rawSeverity === "number" && SEVERITIES.has(rawSeverity) ? (rawSeverity as Severity) : Severity.INFO;
  const sentAt = headers[FEDORA_MESSAGING_HEADERS.sentAt];
  const message: BusMessage = {
    id: properties.messageId || contentId(routingKey, body),
    topic: routingKey,
    schema: schema.name,
    headers,
    body: validated.value,
    severity,
  };
  if (typeof sentAt === "string") message.sentAt = sentAt;
  if (properties.priority !== undefined) message.priority = properties.priority;
  if (properties.userId !== undefined) message.userId = properties.userId;
  return { ok: true, message, schema };
}

/**
 * Senders that set no message_id still need a stable identity for idempotency: the same
 * bytes on the same topic are the same message.
 */
function contentId(routingKey: string, body: Buffer): string {
  return "sha256:" + createHash("sha256").update(routingKey).update("\0").update(body).digest("hex");
}
