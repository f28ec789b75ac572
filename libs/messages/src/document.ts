/**
 * The shapes a message is found in on disk, and how to get topic, body and headers out of
 * each (see the shared fixtures' SOURCES.md):
 * - `fm-dump`: a fedora-messaging dump `{topic, body, headers?, id?, queue?, priority?}`,
 * - `fedmsg-envelope`: a datanommer/fedmsg record `{topic, msg, msg_id?, timestamp?, ...}`,
 * - `packit-event`: the body with an extra top-level `topic` (packit-service's test data),
 * - `body`: a bare body, whose topic must come from elsewhere.
 */
export type DocumentShape = "fm-dump" | "fedmsg-envelope" | "packit-event" | "body";

export interface MessageDocument {
  shape: DocumentShape;
  /** The stored topic (or the override); undefined for a bare body without override. */
  topic: string | undefined;
  body: unknown;
  /** AMQP headers, for fedora-messaging dumps. */
  headers: Record<string, unknown>;
  /** Message id as stored (`id` of a dump, `msg_id` of an envelope). */
  id: string | undefined;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Recognise a message document. With `topicOverride`, a top-level `topic` of a bare object
 * is taken as part of the body (a body may have a field called topic); without it, such an
 * object is a packit-style event.
 */
export function parseMessageDocument(doc: unknown, topicOverride?: string): MessageDocument {
  if (isJsonObject(doc) && typeof doc["topic"] === "string") {
    const topic = topicOverride ?? doc["topic"];
    if (isJsonObject(doc["body"])) {
      const id = doc["id"];
      return { shape: "fm-dump", topic, body: doc["body"], headers: isJsonObject(doc["headers"]) ? doc["headers"] : {}, id: typeof id === "string" ? id : undefined };
    }
    if (isJsonObject(doc["msg"])) {
      const id = doc["msg_id"];
      return { shape: "fedmsg-envelope", topic, body: doc["msg"], headers: {}, id: typeof id === "string" ? id : undefined };
    }
    if (topicOverride === undefined) {
      const { topic: stored, ...body } = doc;
      return { shape: "packit-event", topic: stored, body, headers: {}, id: undefined };
    }
  }
  return { shape: "body", topic: topicOverride, body: doc, headers: {}, id: undefined };
}
