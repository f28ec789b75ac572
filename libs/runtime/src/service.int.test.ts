import { createRequire } from "node:module";
import { Writable } from "node:stream";
import type * as Amqplib from "amqplib";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../../../test/support/index.js";
import { ExitCode, ServiceStartError } from "./exit-codes.js";
import { defineService } from "./definition.js";
import { runService } from "./service.js";
import { get, PING_TOPIC, pingRegistry, waitFor } from "./testing.js";

// amqplib and nats are the bus's dependencies, not ours: load them from there to delete
// what the tests declared.
const requireFromBus = createRequire(createRequire(import.meta.url).resolve("@atomic-ci/bus"));
const amqplib = requireFromBus("amqplib") as typeof Amqplib;
/** The little of the nats client used here (its types are not resolvable from this package). */
interface NatsClient {
  connect(options: { servers: string }): Promise<{
    jetstreamManager(): Promise<{ consumers: { delete(stream: string, durable: string): Promise<boolean> } }>;
    close(): Promise<void>;
  }>;
}
const nats = requireFromBus("nats") as NatsClient;

const quiet = new Writable({ write: (_chunk, _enc, done) => done() });

describe("runService on RabbitMQ and Redis", () => {
  const queues: string[] = [];
  const natsConsumers: string[] = [];
  const keyPrefix = uniqueName("test-runtime-idem");

  afterAll(async () => {
    const nc = await nats.connect({ servers: testServices().natsUrl });
    const jsm = await nc.jetstreamManager();
    for (const durable of natsConsumers) await jsm.consumers.delete("ATOMIC_CI", durable).catch(() => false);
    await nc.close();
    const connection = await amqplib.connect(testServices().amqpUrl);
    const channel = await connection.createChannel();
    for (const queue of queues) {
      await channel.deleteQueue(queue);
      await channel.deleteQueue(`${queue}.dead-letter`);
    }
    await connection.close();
    const redis = new Redis(testServices().redisUrl);
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it("consumes from its queue, reports ready, records the message in Redis and stops cleanly", async () => {
    const queue = uniqueName("atomic-ci.test-runtime");
    queues.push(queue);
    const prefix = `org.atomic-ci.${uniqueName("t").replace(/-/g, "")}`;
    const handled: string[] = [];
    const service = defineService({
      name: "test-runner",
      bindings: [`${prefix}.test.#`],
      handle: (message) => {
        handled.push(message.id);
        return Promise.resolve();
      },
    });
    const handle = await runService({
      ...service,
      registry: pingRegistry(),
      logDestination: quiet,
      processMetrics: false,
      config: {
        env: {
          AMQP_URL: testServices().amqpUrl,
          REDIS_URL: testServices().redisUrl,
          ATOMIC_CI_BUS__QUEUE: queue,
          ATOMIC_CI_BUS__TOPIC_PREFIX: prefix,
          ATOMIC_CI_REDIS__KEY_PREFIX: keyPrefix,
        },
        overrides: { http: { host: "127.0.0.1", port: 0 } },
      },
    });
    expect(handle.config.bus.transport).toBe("amqp");
    expect(handle.bus.transport.kind).toBe("amqp");

    const ready = await get(handle.httpPort, "/ready");
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ consuming: true });

    const published = await handle.bus.publish(PING_TOPIC, { n: 1 });
    expect(published.routingKey).toBe(`${prefix}.test.ping`);
    await waitFor(() => handled.length === 1, 10_000, "the handler");
    expect(handled).toEqual([published.id]);
    const redis = new Redis(testServices().redisUrl);
    try {
      await waitFor(async () => (await redis.get(`${keyPrefix}:${queue}:${published.id}`)) === "done", 5000, "the done mark");
    } finally {
      await redis.quit();
    }
    await waitFor(async () => ((await get(handle.httpPort, "/ready")).json() as { processed: number }).processed === 1, 5000, "processed 1");

    const result = await handle.shutdown("test over");
    expect(result).toEqual({ reason: "test over", exitCode: 0, timedOut: false, steps: ["consumers", "transport", "idempotency", "http"] });
    expect(handle.bus.transport.isConnected()).toBe(false);
  });

  it("runs on NATS JetStream when only a NATS URL is set", async () => {
    // The default stream (ATOMIC_CI, subjects org.> and ci.>): a second stream on those
    // subjects would overlap it. Only this test's durable consumer is removed afterwards.
    const queue = uniqueName("atomic-ci-test-runtime-nats");
    natsConsumers.push(queue);
    const handled: number[] = [];
    const handle = await runService({
      ...defineService({
        name: "gatekeeper",
        bindings: ["org.atomic-ci.dev.test.#"],
        handle: (message) => {
          handled.push((message.body as { n: number }).n);
          return Promise.resolve();
        },
      }),
      registry: pingRegistry(),
      logDestination: quiet,
      processMetrics: false,
      config: { env: { NATS_URL: testServices().natsUrl, ATOMIC_CI_BUS__QUEUE: queue }, overrides: { http: { host: "127.0.0.1", port: 0 } } },
    });
    try {
      expect(handle.bus.transport.kind).toBe("nats");
      expect((await get(handle.httpPort, "/ready")).status).toBe(200);
      await handle.bus.publish(PING_TOPIC, { n: 5 });
      await waitFor(() => handled.length === 1, 10_000, "the handler");
      expect(handled).toEqual([5]);
    } finally {
      expect((await handle.shutdown("test over")).exitCode).toBe(0);
    }
  });

  it("fails to start with exit code 14 when the broker cannot be reached", async () => {
    const err = await runService({
      ...defineService({ name: "composer", bindings: ["#"], handle: () => Promise.resolve() }),
      registry: pingRegistry(),
      logDestination: quiet,
      processMetrics: false,
      config: { env: { AMQP_URL: "amqp://guest:guest@127.0.0.1:1" }, overrides: { http: { host: "127.0.0.1", port: 0 } } },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect((err as ServiceStartError).exitCode).toBe(ExitCode.CONNECTION_ERROR);
    expect((err as Error).message).not.toContain("guest:guest");
  });
});
