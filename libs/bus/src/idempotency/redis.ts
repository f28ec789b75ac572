import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { BusError } from "../errors.js";
import { RedisLink } from "../redis-link.js";
import type { ClaimResult, IdempotencyStore } from "./store.js";

export interface RedisIdempotencyOptions {
  /** Use this client (the store never closes it), or … */
  client?: Redis;
  /** … connect to this URL (the store owns that client and quits it on close). */
  url?: string;
  /** Key prefix; keys are `<prefix>:<scope>:<id>`. Default `atomic-ci:idem`. */
  prefix?: string;
  /** How long a processed id is remembered. Default 7 days. */
  retentionMs?: number;
  /** Told about connection errors of an owned client (ioredis reconnects by itself). */
  onError?: (err: Error) => void;
}

export const REDIS_IDEMPOTENCY_DEFAULTS = {
  prefix: "atomic-ci:idem",
  retentionMs: 7 * 24 * 3600_000,
} as const;

/**
 * Delete the key only while it still holds *our* claim: a release must never erase a "done"
 * written by whoever finished the message meanwhile, nor the claim another replica took after
 * our lease lapsed. GET+DEL in one script keeps it atomic.
 */
const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

/** Extend the lease only while the key still holds our claim (never "done", never another replica's claim). */
const RENEW_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Shared idempotency store for competing consumers (one per service replica). A claim is a
 * `SET NX` with a lease, so a crashed holder's claim expires by itself and the broker's
 * redelivery can then be processed by another replica.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly link: RedisLink;
  private readonly prefix: string;
  private readonly retentionMs: number;
  /**
   * This store's claims are `claimed:<uuid>`: a renewal or release touches only its own, so a
   * holder whose lease lapsed (and whose message another replica then claimed) finds out on
   * its next renewal instead of extending, or deleting, the other replica's claim.
   */
  private readonly owner = `claimed:${randomUUID()}`;

  constructor(options: RedisIdempotencyOptions) {
    this.link = new RedisLink(options, "RedisIdempotencyStore");
    this.prefix = options.prefix ?? REDIS_IDEMPOTENCY_DEFAULTS.prefix;
    this.retentionMs = options.retentionMs ?? REDIS_IDEMPOTENCY_DEFAULTS.retentionMs;
  }

  get client(): Redis {
    return this.link.client;
  }

  /** Connect (when the store owns its client) and check that Redis answers. */
  connect(): Promise<void> {
    return this.link.connect();
  }

  key(scope: string, id: string): string {
    return `${this.prefix}:${scope}:${id}`;
  }

  async claim(scope: string, id: string, leaseMs: number): Promise<ClaimResult> {
    const key = this.key(scope, id);
    // The key can expire between a failed SET NX and the GET; then the claim is simply
    // tried again (a couple of times at most: it only loops on that narrow race).
    for (let attempt = 0; attempt < 3; attempt++) {
      const set = await this.client.set(key, this.owner, "PX", leaseMs, "NX");
      if (set === "OK") return "claimed";
      const value = await this.client.get(key);
      if (value === "done") return "done";
      if (value !== null) return "busy";
    }
    return "busy";
  }

  async complete(scope: string, id: string): Promise<void> {
    await this.client.set(this.key(scope, id), "done", "PX", this.retentionMs);
  }

  async renewAll(scope: string, ids: readonly string[], leaseMs: number): Promise<boolean[]> {
    if (ids.length === 0) return [];
    // One pipeline, one round trip for every claim of the consumer. Not one multi-key script:
    // the keys need not share a cluster slot.
    const pipeline = this.client.pipeline();
    const lease = String(leaseMs);
    for (const id of ids) pipeline.eval(RENEW_SCRIPT, 1, this.key(scope, id), this.owner, lease);
    const replies = await pipeline.exec();
    // null is only for an aborted MULTI (WATCH), which a plain pipeline never is.
    if (!replies) throw new BusError("CONNECTION", "Redis returned no replies to the lease renewal pipeline");
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value === 1;
    });
  }

  async release(scope: string, id: string): Promise<void> {
    await this.client.eval(RELEASE_SCRIPT, 1, this.key(scope, id), this.owner);
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
