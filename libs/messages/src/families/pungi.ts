import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema } from "../schema.js";

/** Statuses Pungi writes to a compose's STATUS file and announces. */
export const PUNGI_COMPOSE_STATUSES = ["STARTED", "FINISHED", "FINISHED_INCOMPLETE", "DOOMED", "TERMINATED"] as const;
export type PungiComposeStatus = (typeof PUNGI_COMPOSE_STATUSES)[number];

export function isPungiComposeStatus(status: string): status is PungiComposeStatus {
  return (PUNGI_COMPOSE_STATUSES as readonly string[]).includes(status);
}

/** A compose that produced its artifacts: FINISHED, or FINISHED_INCOMPLETE (some optional variants failed). */
export function pungiComposeSucceeded(status: string): boolean {
  return status === "FINISHED" || status === "FINISHED_INCOMPLETE";
}

export const PUNGI_COMPOSE_STATUS_CHANGE_TOPIC = "pungi.compose.status.change";

/**
 * Body of `pungi.compose.status.change`. `status` is any non-empty string, not an enum: a
 * status added by a future Pungi must not get the message dead-lettered, and consumers only
 * act on the statuses they know ({@link pungiComposeSucceeded}).
 */
export const PungiComposeStatusChange = z.looseObject({
  compose_id: z.string().min(1),
  status: z
    .string()
    .min(1)
    .describe(`Known values: ${PUNGI_COMPOSE_STATUSES.join(", ")}; others are accepted.`),
  location: z.string(),
});
export type PungiComposeStatusChange = z.output<typeof PungiComposeStatusChange>;

export const PungiComposeStatusChangeMessage = defineSchema({
  name: "atomic_ci.pungi.ComposeStatusChangeV1",
  topic: PUNGI_COMPOSE_STATUS_CHANGE_TOPIC,
  body: PungiComposeStatusChange,
  description: "A Pungi compose changed status (STARTED, FINISHED, ...).",
  summary: (body) => `Pungi compose ${body.compose_id} is ${body.status}`,
});

export const PUNGI_FAMILY: MessageFamily = {
  id: "pungi",
  title: "Pungi composes",
  description: "Compose status messages from Pungi (no Python schema package exists).",
  schemas: [PungiComposeStatusChangeMessage],
};
