import { Writable } from "node:stream";
import { createLogger, silentLogger } from "@atomic-ci/telemetry";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../../../../test/support/index.js";
import { LeaseSweeper } from "./lease-sweeper.js";
import { RedisIdempotencyStore } from "./redis.js";

describe("RedisIdempotencyStore", () => {
  let client: Redis;
  let prefix: string;

  beforeAll(async () => {
    client = new Redis(testServices().redisUrl);
    await client.ping();
    prefix = uniqueName("test-idem");
  });

  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  function store(options: { retentionMs?: number } = {}) {
    return new RedisIdempotencyStore({ client, prefix, ...options });
  }

  it("claims, reports busy while claimed, and done once completed", async () => {
    const s = store({ retentionMs: 60_000 });
    expect(await s.claim("q", "m1", 60_000)).toBe("claimed");
    expect(await client.get(`${prefix}:q:m1`)).toMatch(/^claimed:[0-9a-f-]{36}$/);
    expect(await s.claim("q", "m1", 60_000)).toBe("busy");
    await s.complete("q", "m1");
    expect(await client.get(`${prefix}:q:m1`)).toBe("done");
    expect(await s.claim("q", "m1", 60_000)).toBe("done");
    const ttl = await client.pttl(`${prefix}:q:m1`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("uses the default prefix layout atomic-ci:idem:<scope>:<id>", () => {
    expect(new RedisIdempotencyStore({ client }).key("composer", "abc")).toBe("atomic-ci:idem:composer:abc");
  });

  it("release deletes a claim but leaves a completed id alone", async () => {
    const s = store();
    await s.claim("q", "m2", 60_000);
    await s.release("q", "m2");
    expect(await client.exists(`${prefix}:q:m2`)).toBe(0);
    expect(await s.claim("q", "m2", 60_000)).toBe("claimed");
    await s.complete("q", "m2");
    await s.release("q", "m2");
    expect(await s.claim("q", "m2", 60_000)).toBe("done");
  });

  it("lets a claim lapse after its lease", async () => {
    const s = store();
    expect(await s.claim("q", "m3", 150)).toBe("claimed");
    expect(await s.claim("q", "m3", 150)).toBe("busy");
    await new Promise((r) => setTimeout(r, 300));
    expect(await s.claim("q", "m3", 150)).toBe("claimed");
  });

  it("renews many claims in one pipeline, leaving done and unknown ids alone", async () => {
    const s = store({ retentionMs: 60_000 });
    const ids = Array.from({ length: 50 }, (_, i) => `renew-${i}`);
    for (const id of ids) expect(await s.claim("q", id, 10_000)).toBe("claimed");
    await s.claim("q", "renew-done", 10_000);
    await s.complete("q", "renew-done");
    const renewed = await s.renewAll("q", [...ids, "renew-done", "renew-unknown"], 60_000);
    expect(renewed).toEqual([...ids.map(() => true), false, false]);
    for (const id of ids) expect(await client.pttl(`${prefix}:q:${id}`)).toBeGreaterThan(50_000);
    expect(await client.get(`${prefix}:q:renew-done`)).toBe("done"); // not turned back into a claim
    expect(await client.exists(`${prefix}:q:renew-unknown`)).toBe(0); // nor created
    expect(await s.renewAll("q", [], 60_000)).toEqual([]);
  });

  it("fails a renewal round when Redis is unreachable; the consumer's sweeper logs it and keeps its claims for the next round", async () => {
    const s = new RedisIdempotencyStore({ url: "redis://127.0.0.1:1", prefix });
    await expect(s.renewAll("q", ["a"], 1000)).rejects.toThrow();
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } });
    const sweeper = new LeaseSweeper(s, "q", 60_000, createLogger({ level: "info", service: "lease-test" }, sink));
    sweeper.hold({ id: "a", get: () => silentLogger() });
    await sweeper.sweep();
    expect(lines.join("")).toContain("could not renew the claims");
    expect(sweeper.size).toBe(1);
    sweeper.stop();
    await s.close();
  });

  it("never renews nor releases a claim another store took after its own lease lapsed", async () => {
    const other = new Redis(testServices().redisUrl);
    try {
      const slow = store();
      const next = new RedisIdempotencyStore({ client: other, prefix });
      expect(await slow.claim("owner", "m", 100)).toBe("claimed");
      await new Promise((r) => setTimeout(r, 250));
      expect(await next.claim("owner", "m", 60_000)).toBe("claimed");
      // The slow holder learns its claim is gone; the other's lease is left as it was.
      expect(await slow.renewAll("owner", ["m"], 600_000)).toEqual([false]);
      expect(await client.pttl(`${prefix}:owner:m`)).toBeLessThanOrEqual(60_000);
      await slow.release("owner", "m");
      expect(await slow.claim("owner", "m", 60_000)).toBe("busy");
      expect(await next.renewAll("owner", ["m"], 120_000)).toEqual([true]);
    } finally {
      await other.quit();
    }
  });

  it("lets exactly one of two racing stores claim the same id", async () => {
    const other = new Redis(testServices().redisUrl);
    try {
      const a = store();
      const b = new RedisIdempotencyStore({ client: other, prefix });
      for (let i = 0; i < 20; i++) {
        const results = await Promise.all([a.claim("race", `m${i}`, 60_000), b.claim("race", `m${i}`, 60_000)]);
        expect(results.sort()).toEqual(["busy", "claimed"]);
      }
    } finally {
      await other.quit();
    }
  });

  it("quits a client it created, never one it was given", async () => {
    const owned = new RedisIdempotencyStore({ url: testServices().redisUrl, prefix });
    await owned.connect();
    expect(await owned.claim("q", "owned", 1000)).toBe("claimed");
    await owned.close();
    expect(owned.client.status).toBe("end");

    await store().close();
    expect(await client.ping()).toBe("PONG");
  });

  it("rejects connect with the socket error when Redis is unreachable", async () => {
    const s = new RedisIdempotencyStore({ url: "redis://127.0.0.1:1", prefix });
    await expect(s.connect()).rejects.toThrow(/cannot reach Redis: .*ECONNREFUSED/);
    await s.close();
  });
});
