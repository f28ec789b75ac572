import { emptyState, type TriggerState } from "./core/types.js";

/** The state as loaded, with the version a save must still find to succeed. */
export interface VersionedState {
  state: TriggerState;
  /** 0 while nothing was ever saved; each successful save adds 1. */
  version: number;
}

/**
 * Where the core's state lives between messages (pending batch, Depends-On waits, recent
 * change sets). The whole state is one JSON document, saved after the step's messages were
 * published: a crash in between re-runs the step on redelivery instead of losing a change set.
 *
 * Saves are compare-and-set on the version, so replicas sharing one document (Redis) cannot
 * lose each other's updates: a save that finds another version returns false, and the caller
 * loads again and decides again (see `TriggerListener`).
 */
export interface ChangeSetStore {
  load(): Promise<VersionedState>;
  /** Save `state` if the stored version is still `expectedVersion`; false when someone else saved since. */
  save(state: TriggerState, expectedVersion: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Embedded mode: one process, state gone with it. Copies in and out so callers cannot alias it. */
export class MemoryChangeSetStore implements ChangeSetStore {
  private state: TriggerState = emptyState();
  private version = 0;

  load(): Promise<VersionedState> {
    return Promise.resolve({ state: structuredClone(this.state), version: this.version });
  }

  save(state: TriggerState, expectedVersion: number): Promise<boolean> {
    if (expectedVersion !== this.version) return Promise.resolve(false);
    this.state = structuredClone(state);
    this.version++;
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
