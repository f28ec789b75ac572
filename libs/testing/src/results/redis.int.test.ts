// The Redis store against the real Redis: the same contract as the memory store, plus what
// only Redis gives: results (and plans) survive the process, ids keep increasing.
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../../../../test/support/index.js";
import { RedisPlanStore } from "./plans.js";
import { RedisResultsStore } from "./redis.js";
import { clock, COMMIT, fill, resultsStoreContract } from "./store-contract.js";

const prefixes: string[] = [];
const stores: { close(): Promise<void> }[] = [];

function store(prefix: string, now: () => Date = clock()): RedisResultsStore {
  const made = new RedisResultsStore({ url: testServices().redisUrl, prefix, now });
  stores.push(made);
  return made;
}

afterAll(async () => {
  for (const s of stores) await s.close();
  const redis = new Redis(testServices().redisUrl);
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

resultsStoreContract("RedisResultsStore", async (now) => {
  const prefix = uniqueName("test-results");
  prefixes.push(prefix);
  const made = store(prefix, now);
  await made.connect();
  return made;
});

describe("RedisResultsStore across processes", () => {
  it("keeps results when the store (the test-runner) restarts, and ids go on increasing", async () => {
    const prefix = uniqueName("test-results-restart");
    prefixes.push(prefix);
    const first = store(prefix);
    await fill(first);
    await first.close();
    const second = store(prefix, clock(Date.parse("2025-02-01T00:00:00Z")));
    expect((await second.latest({ item: [COMMIT] })).map((r) => [r.id, r.outcome])).toEqual([
      [4, "FAILED"],
      [3, "PASSED"],
    ]);
    expect((await second.submit({ outcome: "PASSED", testcase: { name: "t.after.functional" }, data: { item: [COMMIT] } })).id).toBe(6);
  });

  it("gives distinct increasing ids to writers on separate connections", async () => {
    const prefix = uniqueName("test-results-two");
    prefixes.push(prefix);
    const [a, b] = [store(prefix), store(prefix)];
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).submit({ outcome: "PASSED", testcase: { name: `t.x${i}.functional` }, data: { item: [COMMIT] } }).then((r) => r.id)));
    expect([...ids].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await a.query({ item: [COMMIT], limit: 100 })).results).toHaveLength(40);
  });

  it("rejects a stored value that is not a result, naming the key", async () => {
    const prefix = uniqueName("test-results-bad");
    prefixes.push(prefix);
    const s = store(prefix);
    await s.connect();
    await s.client.hset(`${prefix}:result`, "1", "{not json");
    await expect(s.get(1)).rejects.toThrow(new RegExp(`${prefix}:result 1: not a stored result`));
  });

  it("keeps plans across a restart", async () => {
    const key = `${uniqueName("test-plans")}:plans`;
    prefixes.push(key);
    const first = new RedisPlanStore({ url: testServices().redisUrl, key });
    await first.put("c1", { tests: [{ id: "a" }] });
    await first.close();
    const second = new RedisPlanStore({ url: testServices().redisUrl, key });
    stores.push(second);
    expect(await second.get("c1")).toEqual({ tests: [{ id: "a" }] });
    expect(await second.get("c2")).toBeUndefined();
    const redis = new Redis(testServices().redisUrl);
    await redis.del(key);
    await redis.quit();
  });
});
