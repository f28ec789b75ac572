import { headers as natsHeaders, type MsgHdrs } from "nats";
import type { HeaderValue, Headers, WireProperties } from "../transport.js";

/**
 * How AMQP message properties and fedora-messaging headers travel as NATS headers.
 *
 * NATS header values are strings (trimmed, no CR/LF) and names are printable ASCII without
 * `:`, so:
 * - properties get fixed names (`content-type`, `content-encoding`, `delivery-mode`,
 *   `priority`, `timestamp`; numbers as decimal strings);
 * - the message id is `Nats-Msg-Id`, which JetStream uses to de-duplicate publishes within
 *   the stream's duplicate window, so a publish retried after a lost PubAck is stored once;
 *   a copy published under another id (dead-lettering) carries the original in
 *   `atomic-ci-message-id`;
 * - each fedora-messaging header `h` becomes `fm-h-<h>` (the name percent-encoded where
 *   NATS would refuse it) with its JSON-encoded value, so `true`, `20` and `"20"` come back
 *   with their types;
 * - the AMQP exchange is recorded in `atomic-ci-exchange`;
 * - `userId` is not carried: RabbitMQ validates it against the connection's user, NATS
 *   would not, and a consumer must not trust an unvalidated sender identity.
 */
export const NATS_HEADERS = {
  contentType: "content-type",
  contentEncoding: "content-encoding",
  deliveryMode: "delivery-mode",
  priority: "priority",
  timestamp: "timestamp",
  msgId: "Nats-Msg-Id",
  messageId: "atomic-ci-message-id",
  exchange: "atomic-ci-exchange",
  headerPrefix: "fm-h-",
} as const;

// encodeURIComponent leaves only [A-Za-z0-9-_.!~*'()] and %XX: all valid NATS header name characters.
function headerName(name: string): string {
  return NATS_HEADERS.headerPrefix + encodeURIComponent(name);
}

export interface EncodeHeadersOptions {
  exchange: string;
  /** Publish under this JetStream de-duplication id instead of the message id. */
  msgId?: string;
}

export function encodeHeaders(properties: WireProperties, options: EncodeHeadersOptions): MsgHdrs {
  const h = natsHeaders();
  const set = (name: string, value: string | number | undefined) => {
    if (value !== undefined) h.set(name, String(value));
  };
  set(NATS_HEADERS.contentType, properties.contentType);
  set(NATS_HEADERS.contentEncoding, properties.contentEncoding);
  set(NATS_HEADERS.deliveryMode, properties.deliveryMode);
  set(NATS_HEADERS.priority, properties.priority);
  set(NATS_HEADERS.timestamp, properties.timestamp);
  const msgId = options.msgId ?? properties.messageId;
  set(NATS_HEADERS.msgId, msgId);
  if (properties.messageId !== undefined && msgId !== properties.messageId) set(NATS_HEADERS.messageId, properties.messageId);
  set(NATS_HEADERS.exchange, options.exchange);
  for (const [name, value] of Object.entries(properties.headers)) h.set(headerName(name), JSON.stringify(value));
  return h;
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A header value as published by us (JSON); anything else (a foreign publisher) stays a string. */
function headerValue(raw: string): HeaderValue {
  try {
    const value: unknown = JSON.parse(raw);
    if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  } catch {
    // not JSON: keep the text
  }
  return raw;
}

export interface DecodedHeaders {
  properties: WireProperties;
  /** The exchange the publisher named, when it was an atomic-ci bus. */
  exchange: string | undefined;
}

/** Inverse of `encodeHeaders`; lenient with messages from other NATS publishers (no headers → `{}`). */
export function decodeHeaders(h: MsgHdrs | undefined): DecodedHeaders {
  const headers: Headers = {};
  const properties: WireProperties = { headers };
  if (!h) return { properties, exchange: undefined };
  const get = (name: string): string | undefined => (h.has(name) ? h.get(name) : undefined);
  const contentType = get(NATS_HEADERS.contentType);
  if (contentType !== undefined) properties.contentType = contentType;
  const contentEncoding = get(NATS_HEADERS.contentEncoding);
  if (contentEncoding !== undefined) properties.contentEncoding = contentEncoding;
  const deliveryMode = integer(get(NATS_HEADERS.deliveryMode));
  if (deliveryMode !== undefined) properties.deliveryMode = deliveryMode;
  const priority = integer(get(NATS_HEADERS.priority));
  if (priority !== undefined) properties.priority = priority;
  const timestamp = integer(get(NATS_HEADERS.timestamp));
  if (timestamp !== undefined) properties.timestamp = timestamp;
  const messageId = get(NATS_HEADERS.messageId) ?? get(NATS_HEADERS.msgId);
  if (messageId !== undefined && messageId !== "") properties.messageId = messageId;
  for (const key of h.keys()) {
    if (!key.startsWith(NATS_HEADERS.headerPrefix)) continue;
    let name: string;
    try {
      name = decodeURIComponent(key.slice(NATS_HEADERS.headerPrefix.length));
    } catch {
      continue; // not one of ours
    }
    headers[name] = headerValue(h.get(key));
  }
  return { properties, exchange: get(NATS_HEADERS.exchange) };
}
