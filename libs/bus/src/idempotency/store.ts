/**
 * Remembers which message ids a consumer already processed, so at-least-once delivery
 * becomes effectively-once handling. A message is claimed before its handler runs (so two
 * competing consumers do not run it twice at once) and marked done after it succeeded.
 */
export type ClaimResult = "claimed" | "done" | "busy";

export interface IdempotencyStore {
  /** Claim `id` in `scope` for `leaseMs`; "done" if already processed, "busy" if claimed by someone else. */
  claim(scope: string, id: string, leaseMs: number): Promise<ClaimResult>;
  /** Mark processed; remembered for the store's retention. */
  complete(scope: string, id: string): Promise<void>;
  /**
   * Extend our claims on `ids` by `leaseMs` in one round trip (the consumer renews all its
   * in-flight claims together); per id, false when it is no longer claimed (done, or the lease
   * lapsed). The holder renews a short lease, so the claim of a holder that died (kill -9, OOM)
   * lapses within one lease instead of blocking the message.
   */
  renewAll(scope: string, ids: readonly string[], leaseMs: number): Promise<boolean[]>;
  /** Give a claim back (handler failed or asked to retry). */
  release(scope: string, id: string): Promise<void>;
  close(): Promise<void>;
}
