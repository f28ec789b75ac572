import { Bus, MemoryIdempotencyStore, MemoryTransport, Outcomes, encodeMessage } from "@atomic-ci/bus";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import { HealthServer } from "./health.js";
import { get, PING, PING_TOPIC, pingRegistry, waitFor } from "./testing.js";

describe("HealthServer", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A real bus on the memory transport with a consumer, and a health server reporting on it. */
  async function setup(handler = () => Promise.resolve(Outcomes.ack())) {
    const metrics = createMetrics();
    const transport = new MemoryTransport();
    const bus = new Bus({ transport, registry: pingRegistry(), idempotency: new MemoryIdempotencyStore(), metrics, logger: silentLogger() });
    await bus.connect();
    await bus.consume({ queue: "health-test", bindings: ["#.test.#"], handler, maxDeliveries: 1 });
    const server = new HealthServer({ host: "127.0.0.1", port: 0, metrics, state: () => ({ ready: bus.isConsuming(), consuming: bus.isConsuming() }) });
    const port = await server.start();
    cleanups.push(() => server.close(), () => bus.close());
    return { bus, transport, metrics, server, port };
  }

  it("binds a free port when configured with 0 and answers /live", async () => {
    const { port, server } = await setup();
    expect(port).toBeGreaterThan(0);
    expect(server.port).toBe(port);
    const live = await get(port, "/live");
    expect(live.status).toBe(200);
    expect(live.contentType).toBe("application/json");
    expect(live.json()).toEqual({ status: "OK" });
  });

  it("reports ready with counters that follow the messages handled", async () => {
    let calls = 0;
    const { bus, transport, port } = await setup(() => {
      calls += 1;
      return Promise.resolve(calls === 3 ? Outcomes.drop("not wanted") : Outcomes.ack());
    });
    const before = await get(port, "/ready");
    expect(before.status).toBe(200);
    expect(before.json()).toEqual({ status: "OK", consuming: true, received: 0, processed: 0, requeued: 0, dropped: 0, rejected: 0, failed: 0 });

    await bus.publish(PING_TOPIC, { n: 1 });
    await bus.publish(PING_TOPIC, { n: 2 });
    await bus.publish(PING_TOPIC, { n: 3 });
    // A body that is not JSON is rejected (and dead-lettered) before any handler runs.
    const bad = encodeMessage(PING, { n: 4 }, { routingKey: "org.x.test.ping" });
    await transport.send({ ...bad, body: Buffer.from("{not json") }, "amq.topic");
    await waitFor(async () => ((await get(port, "/ready")).json() as { received: number }).received === 4, 5000, "4 received");

    const after = await get(port, "/ready");
    expect(after.json()).toEqual({ status: "OK", consuming: true, received: 4, processed: 2, requeued: 0, dropped: 2, rejected: 1, failed: 0 });
  });

  it("counts handler failures and requeues", async () => {
    const { bus, port } = await setup(() => Promise.reject(new Error("boom")));
    await bus.publish(PING_TOPIC, { n: 1 });
    await waitFor(async () => ((await get(port, "/ready")).json() as { failed: number }).failed === 1, 5000, "a failure");
    // maxDeliveries 1: the failed message is dead-lettered rather than requeued.
    expect((await get(port, "/ready")).json()).toMatchObject({ received: 1, processed: 0, failed: 1, dropped: 1, requeued: 0 });
  });

  it("turns /ready to 503 once the bus stops consuming, /live stays 200", async () => {
    const { bus, port } = await setup();
    expect((await get(port, "/ready")).status).toBe(200);
    await bus.stopConsuming();
    const ready = await get(port, "/ready");
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ status: "UNAVAILABLE", consuming: false });
    expect((await get(port, "/live")).status).toBe(200);
  });

  it("serves Prometheus text with its content type", async () => {
    const { bus, port } = await setup();
    await bus.publish(PING_TOPIC, { n: 1 });
    await waitFor(async () => (await get(port, "/metrics")).text.includes('atomic_ci_messages_processed_total{consumer="health-test"} 1'), 5000, "metric");
    const metrics = await get(port, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.text).toContain("# TYPE atomic_ci_messages_received_total counter");
  });

  it("answers 404 to other paths and 405 to other methods", async () => {
    const { port } = await setup();
    expect((await get(port, "/nope")).status).toBe(404);
    expect((await get(port, "/")).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${port}/ready`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
    await post.text();
    expect((await get(port, "/live?probe=1")).status).toBe(200);
  });

  it("stops listening on close", async () => {
    const { port, server } = await setup();
    await get(port, "/live");
    await server.close();
    await expect(get(port, "/live")).rejects.toThrow();
  });
});
