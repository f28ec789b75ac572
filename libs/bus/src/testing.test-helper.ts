import { SchemaRegistry, defineSchema } from "@atomic-ci/messages";
import { createMetrics, silentLogger, type Metrics } from "@atomic-ci/telemetry";
import { z } from "zod";
import { Bus } from "./bus.js";
import { MemoryIdempotencyStore } from "./idempotency/memory.js";
import { MemoryBroker } from "./memory/broker.js";
import { MemoryTransport } from "./memory/transport.js";

/** A tiny schema family used by the bus's own unit tests (semantics, not Fedora formats). */
export const PingV1 = defineSchema({
  name: "atomic_ci.test.PingV1",
  topic: "test.ping",
  description: "test message",
  body: z.object({ n: z.number().int(), owner: z.string().optional(), change_set_id: z.string().optional(), pad: z.string().optional() }),
  usernames: (b) => (b.owner ? [b.owner] : []),
  packages: () => ["ping-pkg"],
});

export const testRegistry = new SchemaRegistry([PingV1]);

export function memoryBus(broker = new MemoryBroker(), metrics: Metrics = createMetrics()) {
  const transport = new MemoryTransport(broker);
  const bus = new Bus(
    { transport, registry: testRegistry, idempotency: new MemoryIdempotencyStore(), metrics, logger: silentLogger() },
    { topicPrefix: "org.example.test" },
  );
  return { bus, broker, transport, metrics };
}

/** Value of a counter or gauge for the labels given (0 when never set). */
export async function metricValue(metrics: Metrics, name: keyof Metrics, labels: Record<string, string>): Promise<number> {
  const metric = metrics[name] as { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> };
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

/** Wait until `predicate` holds, polling; fails naming `what` after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
