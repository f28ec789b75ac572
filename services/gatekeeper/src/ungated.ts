// How long the oldest change set has waited for its compose gate: the number ops alert on
// (deploy/openshift: AtomicCiOldestUngatedChangeTooOld). A change set is *ungated* from its
// queued message until its compose failed, or its compose got a final gate decision —
// satisfied, or unsatisfied with nothing left to wait for (no `test-result-missing`).
import type { Decision } from "@atomic-ci/gating";

/** Bounded: a flood of change sets that never settle must not grow the process without limit. */
const MAX_TRACKED = 10_000;

export class UngatedChanges {
  /** change set id → when it was queued (ms); insertion order = age order. */
  private readonly queued = new Map<string, number>();
  /** compose commit → the change sets composed to it (several change sets can share a commit). */
  private readonly byCommit = new Map<string, Set<string>>();

  constructor(private readonly max = MAX_TRACKED) {}

  onQueued(changeSetId: string, queuedAt: Date): void {
    if (this.queued.has(changeSetId)) return;
    this.queued.set(changeSetId, queuedAt.getTime());
    while (this.queued.size > this.max) {
      const oldest = this.queued.keys().next().value;
      if (oldest === undefined) break;
      this.queued.delete(oldest);
    }
  }

  onComposed(changeSetId: string, commit: string): void {
    if (!this.queued.has(changeSetId)) return;
    let set = this.byCommit.get(commit);
    if (!set) this.byCommit.set(commit, (set = new Set()));
    set.add(changeSetId);
  }

  /** A compose that failed is final for its change set: it will not be gated. */
  onComposeFailed(changeSetId: string): void {
    this.queued.delete(changeSetId);
  }

  onDecision(commit: string, decision: Decision): void {
    const waiting = decision.unsatisfied_requirements.some((r) => r.type === "test-result-missing");
    if (!decision.policies_satisfied && waiting) return;
    for (const id of this.byCommit.get(commit) ?? []) this.queued.delete(id);
    this.byCommit.delete(commit);
  }

  /** Seconds the oldest ungated change set has waited; 0 when none waits. */
  oldestAgeSeconds(now: Date): number {
    let oldest = Infinity;
    for (const at of this.queued.values()) oldest = Math.min(oldest, at);
    return oldest === Infinity ? 0 : Math.max(0, (now.getTime() - oldest) / 1000);
  }

  get size(): number {
    return this.queued.size;
  }
}
