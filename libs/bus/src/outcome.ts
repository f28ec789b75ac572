/**
 * What a handler decides about a message, in the spirit of fedora-messaging's callback
 * exceptions (Nack, Drop, HaltConsumer) but as values with a `type` field.
 */
export type Outcome =
  /** Done: ack. */
  | { type: "ack" }
  /** Try again later: put back on the queue (counts toward the delivery limit). */
  | { type: "requeue"; reason: string }
  /** Never process: dead-letter with the reason. */
  | { type: "drop"; reason: string }
  /** Stop this consumer. `requeue` decides whether the current message goes back. */
  | { type: "halt"; reason: string; requeue: boolean; exitCode?: number };

export const Outcomes = {
  ack: (): Outcome => ({ type: "ack" }),
  requeue: (reason: string): Outcome => ({ type: "requeue", reason }),
  drop: (reason: string): Outcome => ({ type: "drop", reason }),
  halt: (reason: string, options: { requeue?: boolean; exitCode?: number } = {}): Outcome => ({
    type: "halt",
    reason,
    requeue: options.requeue ?? false,
    ...(options.exitCode !== undefined ? { exitCode: options.exitCode } : {}),
  }),
} as const;
