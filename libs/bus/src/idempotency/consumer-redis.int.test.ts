import { defineSchema, SchemaRegistry } from "@atomic-ci/messages";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { testServices, uniqueName } from "../../../../test/support/index.js";
import { Bus } from "../bus.js";
import { MemoryBroker } from "../memory/broker.js";
import { MemoryTransport } from "../memory/transport.js";
import { RedisIdempotencyStore } from "./redis.js";

const registry = new SchemaRegistry([
  defineSchema({ name: "atomic_ci.test.PingV1", topic: "test.ping", body: z.object({ n: z.number() }), description: "test" }),
]);

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Two replicas of one service (two Bus instances, each with its own Redis client) share a
 * queue on one broker: a message id one of them processed is skipped by both afterwards.
 */
describe("Consumer with a Redis idempotency store", () => {
  let client: Redis;
  const prefix = uniqueName("test-consumer-idem");

  beforeAll(() => {
    client = new Redis(testServices().redisUrl);
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  function replica(broker: MemoryBroker, handled: number[]) {
    const metrics = createMetrics();
    const store = new RedisIdempotencyStore({ url: testServices().redisUrl, prefix });
    const bus = new Bus({ transport: new MemoryTransport(broker), registry, idempotency: store, metrics, logger: silentLogger() });
    const start = async () => {
      await store.connect();
      await bus.connect();
      await bus.consume({
        queue: "atomic-ci.test",
        bindings: ["test.#"],
        handler: (message) => {
          handled.push((message.body as { n: number }).n);
          return Promise.resolve();
        },
      });
    };
    const stop = async () => {
      await bus.close();
      await store.close();
    };
    return { bus, metrics, start, stop };
  }

  it("skips a message id it already processed, across replicas", async () => {
    const broker = new MemoryBroker();
    const handled: number[] = [];
    const first = replica(broker, handled);
    await first.start();
    const id = uniqueName("msg");
    await first.bus.publish("test.ping", { n: 1 }, { id });
    await waitFor(() => handled.length === 1, "first delivery");
    expect(await client.get(`${prefix}:atomic-ci.test:${id}`)).toBe("done");

    // Redelivered (same id): acked as a duplicate, the handler does not run again.
    await first.bus.publish("test.ping", { n: 2 }, { id });
    const duplicates = async (m: typeof first.metrics) => (await m.duplicates.get()).values.reduce((sum, v) => sum + v.value, 0);
    await waitFor(async () => (await duplicates(first.metrics)) === 1, "the duplicate");
    await first.stop();

    // A second replica with its own connection takes over the queue: still a duplicate.
    const second = replica(broker, handled);
    await second.start();
    await second.bus.publish("test.ping", { n: 3 }, { id });
    await second.bus.publish("test.ping", { n: 4 }, { id: uniqueName("msg") });
    await waitFor(() => handled.length === 2, "the new message");
    await second.stop();

    expect(handled).toEqual([1, 4]);
    expect(await duplicates(first.metrics)).toBe(1);
    expect(await duplicates(second.metrics)).toBe(1);
    expect(broker.peek("atomic-ci.test")).toHaveLength(0);
  });

  it("a copy arriving while its twin is handled waits for it and is acked as a duplicate, not bounced to the dead letters", async () => {
    const broker = new MemoryBroker();
    const store = new RedisIdempotencyStore({ url: testServices().redisUrl, prefix });
    await store.connect();
    const metrics = createMetrics();
    const bus = new Bus({ transport: new MemoryTransport(broker), registry, idempotency: store, metrics, logger: silentLogger() });
    await bus.connect();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: number[] = [];
    await bus.consume({
      queue: "atomic-ci.test-twin",
      bindings: ["test.#"],
      prefetch: 10,
      maxDeliveries: 2,
      handler: async (message) => {
        handled.push((message.body as { n: number }).n);
        await gate;
      },
    });
    const id = uniqueName("msg");
    await bus.publish("test.ping", { n: 1 }, { id });
    await waitFor(() => handled.length === 1, "the first copy in its handler");
    await bus.publish("test.ping", { n: 2 }, { id });
    // The copy is held (not requeued) while the twin runs: no bounce counts as a delivery.
    await new Promise((r) => setTimeout(r, 600));
    const sum = async (name: "requeued" | "duplicates") => (await metrics[name].get()).values.reduce((total, v) => total + v.value, 0);
    expect(await sum("requeued")).toBe(0);
    release();
    await waitFor(async () => (await sum("duplicates")) === 1, "the copy acked as a duplicate");
    expect(handled).toEqual([1]);
    expect(broker.peek("atomic-ci.test-twin.dead-letter")).toHaveLength(0);
    await bus.close();
    await store.close();
  });

  it("renews its claim while a long handler runs, and takes over the claim of a holder that died", async () => {
    const broker = new MemoryBroker();
    const store = new RedisIdempotencyStore({ url: testServices().redisUrl, prefix });
    await store.connect();
    const metrics = createMetrics();
    const bus = new Bus({ transport: new MemoryTransport(broker), registry, idempotency: store, metrics, logger: silentLogger() });
    await bus.connect();
    const handled: number[] = [];
    await bus.consume({
      queue: "atomic-ci.test-lease",
      bindings: ["test.#"],
      claimLeaseMs: 300,
      handler: async (message) => {
        const n = (message.body as { n: number }).n;
        handled.push(n);
        // Much longer than the lease: without renewal a copy would claim it and run it again.
        if (n === 1) await new Promise((r) => setTimeout(r, 1200));
      },
    });
    const sum = async (name: "requeued" | "duplicates") => (await metrics[name].get()).values.reduce((total, v) => total + v.value, 0);

    const long = uniqueName("msg");
    await bus.publish("test.ping", { n: 1 }, { id: long });
    await waitFor(() => handled.length === 1, "the long handler started");
    await bus.publish("test.ping", { n: 2 }, { id: long });
    await waitFor(async () => (await sum("duplicates")) === 1, "the copy acked as a duplicate once the long handler finished");
    expect(handled).toEqual([1]);

    // A holder killed mid-handle (kill -9) never renews nor releases: its claim lapses within one lease.
    const orphan = uniqueName("msg");
    expect(await store.claim("atomic-ci.test-lease", orphan, 300)).toBe("claimed");
    await bus.publish("test.ping", { n: 3 }, { id: orphan });
    await waitFor(() => handled.includes(3), "the orphaned message handled after the dead holder's lease lapsed");
    expect(await sum("requeued")).toBe(0);
    await bus.close();
    await store.close();
  });
});
