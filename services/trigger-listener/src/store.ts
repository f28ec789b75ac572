import { emptyState, type TriggerState } from "./core/types.js";

/**
 * Where the core's state lives between messages (pending batch, Depends-On waits, recent
 * change sets). The whole state is one JSON document, saved after the step's messages were
 * published: a crash in between re-runs the step on redelivery instead of losing a change set.
 */
export interface ChangeSetStore {
  load(): Promise<TriggerState>;
  save(state: TriggerState): Promise<void>;
  close(): Promise<void>;
}

/** Embedded mode: one process, state gone with it. Copies in and out so callers cannot alias it. */
export class MemoryChangeSetStore implements ChangeSetStore {
  private state: TriggerState = emptyState();

  load(): Promise<TriggerState> {
    return Promise.resolve(structuredClone(this.state));
  }

  save(state: TriggerState): Promise<void> {
    this.state = structuredClone(state);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
