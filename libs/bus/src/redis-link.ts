import { once } from "node:events";
import { Redis } from "ioredis";

export interface RedisLinkOptions {
  /** Use this client (never closed here), or … */
  client?: Redis;
  /** … connect to this URL (this link owns that client and quits it on close). */
  url?: string;
  /** Told about connection errors of an owned client (ioredis reconnects by itself). */
  onError?: (err: Error) => void;
}

/**
 * The Redis connection of a store: a given client, or one made from a URL and owned. Stores
 * built on Redis (idempotency, the trigger-listener's state) share how they connect, report
 * why a connection failed, and close only what they own.
 */
export class RedisLink {
  readonly client: Redis;
  readonly owned: boolean;
  private lastError: Error | undefined;

  constructor(options: RedisLinkOptions, what: string) {
    if (options.client) {
      this.client = options.client;
      this.owned = false;
    } else if (options.url) {
      // Few retries per command: callers requeue on a store error, which beats a handler
      // waiting a long time on a Redis that is away.
      this.client = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      this.owned = true;
      // Without a listener ioredis prints every failed reconnect to stderr.
      this.client.on("error", (err: Error) => {
        this.lastError = err;
        options.onError?.(err);
      });
    } else {
      throw new Error(`${what} needs a client or a url`);
    }
  }

  /** Connect (an owned client) and check that Redis answers. */
  async connect(): Promise<void> {
    try {
      if (this.owned && this.client.status === "wait") await this.client.connect();
      await this.client.ping();
    } catch (err) {
      // ioredis only says "Connection is closed"; the socket error says why.
      const cause = this.lastError ?? err;
      throw new Error(`cannot reach Redis: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  /** Quit an owned client (waiting until its socket is really gone); leave a given one alone. */
  async close(): Promise<void> {
    if (!this.owned) return;
    // Only a connected client has anything to flush; otherwise stop reconnecting at once.
    if (this.client.status !== "ready") {
      this.client.disconnect();
      return;
    }
    const ended = once(this.client, "end").catch(() => undefined);
    try {
      await this.client.quit();
      await ended;
    } catch {
      // Already closing or never connected: nothing left to flush.
      this.client.disconnect();
    }
  }
}
