import { z } from "zod";
import { MESSAGE_FAMILIES } from "./families/index.js";
import { defineSchema, type MessageSchema } from "./schema.js";
import { topicHasSuffix } from "./topic.js";

/**
 * fedora-messaging's base `Message`: what a receiver falls back to when it knows no schema
 * for a message. Any JSON object is a valid body.
 */
export const BASE_MESSAGE: MessageSchema<Record<string, unknown>> = defineSchema({
  name: "base.message",
  topic: "#",
  body: z.record(z.string(), z.unknown()),
  description: "Any message without a known schema (fedora-messaging's base Message).",
});

export interface ResolveInput {
  /** Value of the `fedora_messaging_schema` header, if the message had one. */
  schemaHeader?: string | undefined;
  /** Full routing key, environment prefix included. */
  topic: string;
}

/** The schemas a service knows, looked up by schema name or by routing key. */
export class SchemaRegistry {
  private readonly schemas: readonly MessageSchema[];
  private readonly names = new Map<string, MessageSchema>();

  constructor(schemas: readonly MessageSchema[]) {
    for (const schema of schemas) {
      if (this.names.has(schema.name)) throw new Error(`duplicate message schema name ${schema.name}`);
      this.names.set(schema.name, schema);
    }
    this.schemas = [...schemas];
  }

  byName(name: string): MessageSchema | undefined {
    return this.names.get(name);
  }

  /**
   * The most specific schema whose topic ends the routing key (`org.fedoraproject.prod.buildsys.tag`
   * → TagV1): most literal words first, then fewest `#`, then registration order.
   */
  forTopic(routingKey: string): MessageSchema | undefined {
    let best: MessageSchema | undefined;
    let bestScore: readonly number[] = [];
    for (const schema of this.schemas) {
      if (!topicHasSuffix(schema.topic, routingKey)) continue;
      const score = specificity(schema.topic);
      if (!best || compareScores(score, bestScore) > 0) {
        best = schema;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * The schema to validate a received message with: the one its header names, else the one
   * for its topic, else the base message. (fedora-messaging itself goes straight to the base
   * message for an unknown header; we try the topic first so a renamed schema still validates.)
   */
  resolve(input: ResolveInput): MessageSchema {
    const named = input.schemaHeader ? this.byName(input.schemaHeader) : undefined;
    return named ?? this.forTopic(input.topic) ?? BASE_MESSAGE;
  }

  all(): readonly MessageSchema[] {
    return this.schemas;
  }
}

function specificity(topic: string): number[] {
  const words = topic.split(".");
  const literal = words.filter((w) => w !== "*" && w !== "#").length;
  const hashes = words.filter((w) => w === "#").length;
  return [literal, -hashes];
}

function compareScores(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Every schema of every family. */
export const defaultRegistry = new SchemaRegistry(MESSAGE_FAMILIES.flatMap((family) => family.schemas));
