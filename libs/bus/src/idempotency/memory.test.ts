import { describe, expect, it } from "vitest";
import { MemoryIdempotencyStore } from "./memory.js";

/** A clock the test moves by hand, so lease and retention expiry need no waiting. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("MemoryIdempotencyStore", () => {
  it("claims a new id, reports busy while claimed and done once completed", async () => {
    const store = new MemoryIdempotencyStore();
    expect(await store.claim("q", "m1", 60_000)).toBe("claimed");
    expect(await store.claim("q", "m1", 60_000)).toBe("busy");
    await store.complete("q", "m1");
    expect(await store.claim("q", "m1", 60_000)).toBe("done");
  });

  it("keeps scopes apart", async () => {
    const store = new MemoryIdempotencyStore();
    await store.complete("a", "m1");
    expect(await store.claim("b", "m1", 1000)).toBe("claimed");
    expect(await store.claim("a", "m1", 1000)).toBe("done");
  });

  it("release gives a claim back but never forgets a completed id", async () => {
    const store = new MemoryIdempotencyStore();
    await store.claim("q", "m1", 60_000);
    await store.release("q", "m1");
    expect(await store.claim("q", "m1", 60_000)).toBe("claimed");
    await store.complete("q", "m1");
    await store.release("q", "m1");
    expect(await store.claim("q", "m1", 60_000)).toBe("done");
  });

  it("lets a claim lapse after its lease, and a done entry after the retention", async () => {
    const c = clock();
    const store = new MemoryIdempotencyStore({ retentionMs: 10_000, maxEntries: 100 }, c.now);
    expect(await store.claim("q", "m1", 500)).toBe("claimed");
    c.advance(499);
    expect(await store.claim("q", "m1", 500)).toBe("busy");
    c.advance(1);
    expect(await store.claim("q", "m1", 500)).toBe("claimed");
    await store.complete("q", "m1");
    c.advance(9_999);
    expect(await store.claim("q", "m1", 500)).toBe("done");
    c.advance(1);
    expect(await store.claim("q", "m1", 500)).toBe("claimed");
  });

  it("renews every claim it is given in one call, and reports done, lapsed and unknown ids as not renewed", async () => {
    const c = clock();
    const store = new MemoryIdempotencyStore({ retentionMs: 10_000, maxEntries: 100 }, c.now);
    await store.claim("q", "a", 500);
    await store.claim("q", "b", 500);
    await store.claim("q", "lapsing", 100);
    await store.claim("q", "done", 500);
    await store.complete("q", "done");
    c.advance(400);
    expect(await store.renewAll("q", ["a", "b", "lapsing", "done", "unknown"], 500)).toEqual([true, true, false, false, false]);
    c.advance(400); // 800 ms after the claims: alive only because they were renewed
    expect(await store.claim("q", "a", 500)).toBe("busy");
    expect(await store.claim("q", "b", 500)).toBe("busy");
    expect(await store.claim("q", "done", 500)).toBe("done");
    expect(await store.renewAll("q", [], 500)).toEqual([]);
  });

  it("evicts the oldest entries beyond maxEntries", async () => {
    const store = new MemoryIdempotencyStore({ retentionMs: 60_000, maxEntries: 2 });
    await store.complete("q", "m1");
    await store.complete("q", "m2");
    await store.complete("q", "m3");
    expect(await store.claim("q", "m3", 1000)).toBe("done");
    expect(await store.claim("q", "m2", 1000)).toBe("done");
    expect(await store.claim("q", "m1", 1000)).toBe("claimed");
  });

  it("forgets everything on close", async () => {
    const store = new MemoryIdempotencyStore();
    await store.complete("q", "m1");
    await store.close();
    expect(await store.claim("q", "m1", 1000)).toBe("claimed");
  });
});
