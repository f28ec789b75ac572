import type { ClaimResult, IdempotencyStore } from "./store.js";

interface Entry {
  state: "claimed" | "done";
  expiresAt: number;
}

/** In-process store for the embedded mode and unit tests. Bounded: oldest entries go first. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  constructor(
    private readonly options: { retentionMs: number; maxEntries: number } = { retentionMs: 7 * 24 * 3600_000, maxEntries: 100_000 },
    private readonly now: () => number = Date.now,
  ) {}

  claim(scope: string, id: string, leaseMs: number): Promise<ClaimResult> {
    const key = `${scope}\0${id}`;
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry && entry.expiresAt > now) return Promise.resolve(entry.state === "done" ? "done" : "busy");
    this.set(key, { state: "claimed", expiresAt: now + leaseMs });
    return Promise.resolve("claimed");
  }

  complete(scope: string, id: string): Promise<void> {
    this.set(`${scope}\0${id}`, { state: "done", expiresAt: this.now() + this.options.retentionMs });
    return Promise.resolve();
  }

  renewAll(scope: string, ids: readonly string[], leaseMs: number): Promise<boolean[]> {
    const now = this.now();
    return Promise.resolve(
      ids.map((id) => {
        const entry = this.entries.get(`${scope}\0${id}`);
        if (entry?.state !== "claimed" || entry.expiresAt <= now) return false;
        entry.expiresAt = now + leaseMs;
        return true;
      }),
    );
  }

  release(scope: string, id: string): Promise<void> {
    const key = `${scope}\0${id}`;
    if (this.entries.get(key)?.state === "claimed") this.entries.delete(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }

  private set(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
