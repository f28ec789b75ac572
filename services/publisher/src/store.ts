// What the publisher remembers between messages and restarts: each compose it heard of (a
// candidate), what each stream has, and the manual holds. In memory for unit tests and the
// embedded pipeline; in Redis (redis-store.ts) for a deployed publisher.
import type { ManualHold } from "./decide.js";

/** One compose, as the publisher learnt about it from the compose, image and decision messages. */
export interface Candidate {
  commit: string;
  /** When the publisher first heard of it (ISO). */
  firstSeen: string;
  compose?: {
    composeId: string;
    changeSetId?: string;
    ref: string;
    osVersion: string;
    /** The compose's OSTree repository (promotion pulls the commit from it). */
    repo: string;
    /** Commit timestamp (ISO): orders candidates. */
    timestamp: string;
  };
  images?: { meta: string; osVersion: string; formats: string[] };
  /** context → the newest trusted decision. */
  gates: Record<string, { satisfied: boolean; summary: string; at: string }>;
  /** stream → what happened there. */
  streams: Record<string, CandidateStream>;
}

export interface CandidateStream {
  deliveredAt?: string;
  version?: string;
  /** Key of the last held message sent for it (reasonsKey), so the same reasons are not sent again. */
  heldKey?: string;
  /** A promotion that failed for good. */
  failed?: string;
  superseded?: boolean;
  /** Rolled back: the stream does not have it any more (nothing is promoted from it). */
  withdrawn?: boolean;
}

export interface StoredStream {
  version?: string;
  commit?: string;
  deliveredAt?: string;
  order?: string;
}

export interface StoredHold {
  reason: string;
  by: string;
  at: string;
}

export interface PublisherStore {
  connect(): Promise<void>;
  getCandidate(commit: string): Promise<Candidate | undefined>;
  /** Read-modify-write one candidate atomically (`update` gets undefined for a new one). */
  updateCandidate(commit: string, update: (current: Candidate | undefined) => Candidate): Promise<Candidate>;
  listCandidates(): Promise<Candidate[]>;
  deleteCandidate(commit: string): Promise<void>;
  getStreams(): Promise<Record<string, StoredStream>>;
  setStream(stream: string, state: StoredStream): Promise<void>;
  getHolds(): Promise<Record<string, StoredHold>>;
  setHold(stream: string, hold: StoredHold): Promise<void>;
  /** True when there was a hold to clear. */
  clearHold(stream: string): Promise<boolean>;
  close(): Promise<void>;
}

export function holdOf(stored: StoredHold): ManualHold {
  return { reason: stored.reason, by: stored.by, at: new Date(stored.at) };
}

const clone = <T>(value: T): T => structuredClone(value);

/** The store of the embedded pipeline and the unit tests: gone with the process. */
export class MemoryPublisherStore implements PublisherStore {
  private readonly candidates = new Map<string, Candidate>();
  private readonly streams = new Map<string, StoredStream>();
  private readonly holds = new Map<string, StoredHold>();

  connect(): Promise<void> {
    return Promise.resolve();
  }

  getCandidate(commit: string): Promise<Candidate | undefined> {
    const found = this.candidates.get(commit);
    return Promise.resolve(found ? clone(found) : undefined);
  }

  updateCandidate(commit: string, update: (current: Candidate | undefined) => Candidate): Promise<Candidate> {
    const current = this.candidates.get(commit);
    const next = update(current ? clone(current) : undefined);
    this.candidates.set(commit, clone(next));
    return Promise.resolve(next);
  }

  listCandidates(): Promise<Candidate[]> {
    return Promise.resolve([...this.candidates.values()].map(clone));
  }

  deleteCandidate(commit: string): Promise<void> {
    this.candidates.delete(commit);
    return Promise.resolve();
  }

  getStreams(): Promise<Record<string, StoredStream>> {
    return Promise.resolve(Object.fromEntries([...this.streams].map(([k, v]) => [k, clone(v)])));
  }

  setStream(stream: string, state: StoredStream): Promise<void> {
    this.streams.set(stream, clone(state));
    return Promise.resolve();
  }

  getHolds(): Promise<Record<string, StoredHold>> {
    return Promise.resolve(Object.fromEntries([...this.holds].map(([k, v]) => [k, clone(v)])));
  }

  setHold(stream: string, hold: StoredHold): Promise<void> {
    this.holds.set(stream, clone(hold));
    return Promise.resolve();
  }

  clearHold(stream: string): Promise<boolean> {
    return Promise.resolve(this.holds.delete(stream));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
