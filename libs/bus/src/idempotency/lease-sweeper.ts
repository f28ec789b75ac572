import type { Logger } from "@atomic-ci/telemetry";
import type { IdempotencyStore } from "./store.js";

/** A claim kept alive by a sweeper until `release`. */
export interface HeldClaim {
  readonly id: string;
  /** The logger a lapse of this claim is reported on (the consumer's per-message log, made on first use). */
  get(): Logger;
}

/**
 * Keeps the claims of one consumer's in-flight messages alive: one interval per consumer
 * renews all of them in one round (`IdempotencyStore.renewAll`: one Redis pipeline), instead
 * of a timer and a round trip per message. The interval runs only while a claim is held, so
 * an idle or drained consumer leaves no timer behind.
 *
 * Every claim is renewed at most `leaseMs / 3` after it was taken or last renewed (a claim
 * taken just after a round waits for the next one), so a live handler's claim never lapses
 * unless the store stays unreachable for about two thirds of a lease; a holder that dies
 * renews nothing and its claim lapses within one lease.
 */
export class LeaseSweeper {
  private readonly held = new Set<HeldClaim>();
  private timer: NodeJS.Timeout | undefined;
  /** A round still waiting for the store: the next tick is skipped rather than piled up. */
  private sweeping = false;
  private readonly intervalMs: number;
  private readonly sweepNow = () => void this.sweep();

  constructor(
    private readonly store: IdempotencyStore,
    private readonly scope: string,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {
    this.intervalMs = Math.max(1, Math.floor(leaseMs / 3));
  }

  /** Claims held now. */
  get size(): number {
    return this.held.size;
  }

  /** Whether the renewal interval is running (only while a claim is held). */
  isRunning(): boolean {
    return this.timer !== undefined;
  }

  /** Keep `claim` alive from now until `release(claim)`. */
  hold(claim: HeldClaim): void {
    this.held.add(claim);
    if (!this.timer) {
      this.timer = setInterval(this.sweepNow, this.intervalMs);
      // A consumer's draining keeps the process alive, not this timer.
      this.timer.unref();
    }
  }

  release(claim: HeldClaim): void {
    this.held.delete(claim);
    if (this.held.size === 0) this.stop();
  }

  /** Stop renewing (the consumer is gone); claims still held lapse by themselves. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.held.clear();
  }

  /** One round: renew every claim held when it starts; report the ones found lapsed. */
  async sweep(): Promise<void> {
    if (this.sweeping || this.held.size === 0) return;
    this.sweeping = true;
    const claims = [...this.held];
    try {
      const renewed = await this.store.renewAll(
        this.scope,
        claims.map((c) => c.id),
        this.leaseMs,
      );
      claims.forEach((claim, i) => {
        // Released meanwhile: its "done" (or release) is why it is no longer claimed.
        if (renewed[i] !== true && this.held.has(claim)) claim.get().warn("claim on this message id lapsed while its handler ran");
      });
    } catch (err) {
      // The leases may lapse: a twin may then run these messages too.
      this.log.warn({ err, consumer: this.scope, claims: claims.length }, "could not renew the claims of the messages in flight");
    } finally {
      this.sweeping = false;
    }
  }
}
