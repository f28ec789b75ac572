import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../../../../test/support/index.js";
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
    expect(await client.get(`${prefix}:q:m1`)).toBe("claimed");
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
