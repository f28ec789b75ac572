import type { ChangeSetIgnored, ChangeSetMember, ChangeSetQueued, ChangeSetReason } from "@atomic-ci/messages";

/** What the core needs to know from config (see `../config.ts`). */
export interface TriggerRules {
  /** Koji tag whose tag messages are candidates, e.g. `f41-updates-candidate`. */
  candidateTag: string;
  /** dist-git branch (and Bodhi release) the host follows, e.g. `f41`. */
  branch: string;
  /** Host definition repository as `namespace/name`, or `name` for one without a namespace. */
  definitionRepo: string;
  /** 0: every change set goes out at once; else changes that arrive within this many ms go out together. */
  batchWindowMs: number;
  /** How long a queued change is remembered for de-duplication (and re-runs, Depends-On). */
  retentionMs: number;
}

/** Ports: everything the core asks the world, injected so that it stays pure. */
export interface TriggerPorts {
  /** Names of the source packages of the host. */
  hostPackages(): ReadonlySet<string>;
  /** The clock. */
  now(): Date;
}

/** An upstream message as the core sees it. `schema` is the name the bus validated it with. */
export interface TriggerInput {
  id: string;
  topic: string;
  schema: string;
  body: unknown;
}

/** Changes that travel together, not yet emitted. */
export interface PendingChange {
  members: ChangeSetMember[];
  reason: ChangeSetReason;
  /** Depends-On references (see `depends-on.ts`) not yet satisfied by an arrived change. */
  dependsOn: string[];
  arrivedAt: string;
  requestedBy?: string;
  rerunOf?: string;
}

/**
 * Everything the core remembers between messages: a plain JSON document, so that a store
 * can keep it anywhere (memory in embedded mode, Redis when configured).
 */
export interface TriggerState {
  /** Emitted change sets within the retention, by id. */
  queued: Record<string, { members: ChangeSetMember[]; at: string }>;
  /** Changes waiting for a Depends-On reference to arrive. */
  waiting: PendingChange[];
  /** The open batching window, if any. */
  batch: { openedAt: string; changes: PendingChange[] } | null;
}

export function emptyState(): TriggerState {
  return { queued: {}, waiting: [], batch: null };
}

/** What the core decided; the service publishes these, in order, then saves the state. */
export type TriggerOutput =
  | { type: "queued"; body: ChangeSetQueued }
  | { type: "ignored"; body: ChangeSetIgnored }
  /** Kept back (Depends-On or batching): nothing to publish, but worth a log line. */
  | { type: "held"; why: "waiting-for-depends-on" | "batching"; members: string[]; missing?: string[] };

export interface StepResult {
  state: TriggerState;
  outputs: TriggerOutput[];
}
