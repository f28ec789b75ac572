import { describe, expect, it } from "vitest";
import type { BusMessage } from "../envelope.js";
import { isBusError } from "../errors.js";
import { Outcomes } from "../outcome.js";
import { DEAD_LETTER_HEADERS } from "../transport.js";
import { metricValue as counter, memoryBus, until } from "../testing.test-helper.js";

const TOPIC = "org.example.test.test.ping";

describe("in-memory transport through the Bus", () => {
  it("publishes in the fedora-messaging wire format", async () => {
    const { bus, broker } = memoryBus();
    broker.bind("watch", "amq.topic", "#");
    const published = await bus.publish("test.ping", { n: 1, owner: "alice" });
    const [wire] = broker.take("watch");
    expect(wire?.routingKey).toBe(TOPIC);
    expect(published.routingKey).toBe(TOPIC);
    expect(wire?.properties.contentType).toBe("application/json");
    expect(wire?.properties.contentEncoding).toBe("utf-8");
    expect(wire?.properties.deliveryMode).toBe(2);
    expect(wire?.properties.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(wire?.properties.headers).toMatchObject({
      fedora_messaging_schema: "atomic_ci.test.PingV1",
      fedora_messaging_severity: 20,
      priority: 0,
      fedora_messaging_user_alice: true,
      "fedora_messaging_rpm_ping-pkg": true,
    });
    expect(wire?.properties.headers["sent-at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(JSON.parse(wire?.body.toString() ?? "")).toEqual({ n: 1, owner: "alice" });
  });

  it("rejects an unroutable publish and an invalid body", async () => {
    const { bus } = memoryBus();
    const unroutable = await bus.publish("test.ping", { n: 1 }).catch((e: unknown) => e);
    expect(isBusError(unroutable, "PUBLISH_RETURNED")).toBe(true);
    const invalid = await bus.publish("test.ping", { n: "one" }).catch((e: unknown) => e);
    expect(isBusError(invalid, "INVALID_MESSAGE")).toBe(true);
    expect(String(invalid)).toContain("n:");
  });

  it("acks after the handler and delivers the decoded message", async () => {
    const { bus, broker, metrics } = memoryBus();
    const seen: BusMessage[] = [];
    await bus.consume({ queue: "q1", bindings: ["org.example.test.#"], handler: (m) => { seen.push(m); return Promise.resolve(); } });
    const { id } = await bus.publish("test.ping", { n: 7 });
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ id, topic: TOPIC, schema: "atomic_ci.test.PingV1", body: { n: 7 }, severity: 20 });
    await until(async () => (await counter(metrics, "processed", { consumer: "q1" })) === 1);
    expect(broker.peek("q1")).toHaveLength(0);
  });

  it("requeues a failing handler, then dead-letters after maxDeliveries, and keeps consuming", async () => {
    const { bus, broker, metrics } = memoryBus();
    const attempts = new Map<number, number>();
    await bus.consume({
      queue: "q2",
      bindings: ["#"],
      maxDeliveries: 3,
      handler: (m) => {
        const n = (m.body as { n: number }).n;
        attempts.set(n, (attempts.get(n) ?? 0) + 1);
        if (n === 1) return Promise.reject(new Error("boom"));
        return Promise.resolve();
      },
    });
    await bus.publish("test.ping", { n: 1 });
    await bus.publish("test.ping", { n: 2 });
    await until(() => broker.peek("q2.dead-letter").length === 1 && attempts.get(2) === 1);
    expect(attempts.get(1)).toBe(3);
    const dead = broker.peek("q2.dead-letter")[0];
    expect(dead?.properties.headers[DEAD_LETTER_HEADERS.reason]).toBe("max-deliveries");
    expect(String(dead?.properties.headers[DEAD_LETTER_HEADERS.detail])).toContain("boom");
    expect(await counter(metrics, "failed", { consumer: "q2" })).toBe(3);
    expect(await counter(metrics, "requeued", { consumer: "q2" })).toBe(2);
    expect(await counter(metrics, "dropped", { consumer: "q2", reason: "max-deliveries" })).toBe(1);
  });

  it.each([
    ["not JSON", Buffer.from("{nope"), "application/json", "not-json"],
    ["a JSON array", Buffer.from("[1,2]"), "application/json", "not-an-object"],
    ["a wrong content type", Buffer.from('{"n":1}'), "text/plain", "content-type"],
    ["a schema violation", Buffer.from('{"n":"x"}'), "application/json", "schema"],
    ["over the size limit", Buffer.from(JSON.stringify({ n: 1, pad: "x".repeat(2000) })), "application/json", "too-large"],
  ])("dead-letters a body that is %s with the reason and goes on", async (_what, body, contentType, reason) => {
    const { bus, broker, metrics, transport } = memoryBus();
    const handled: unknown[] = [];
    await bus.consume({ queue: "q3", bindings: ["#"], maxBodyBytes: 1024, handler: (m) => { handled.push(m.body); return Promise.resolve(); } });
    await transport.send({ routingKey: TOPIC, body, properties: { contentType, messageId: "bad-1", headers: {} } }, "amq.topic");
    await bus.publish("test.ping", { n: 5 });
    await until(() => handled.length === 1);
    expect(handled).toEqual([{ n: 5 }]);
    const dead = broker.peek("q3.dead-letter");
    expect(dead).toHaveLength(1);
    expect(dead[0]?.properties.headers[DEAD_LETTER_HEADERS.reason]).toBe(reason);
    expect(dead[0]?.body.equals(body)).toBe(true);
    expect(await counter(metrics, "rejected", { consumer: "q3", reason })).toBe(1);
  });

  it("accepts a message without headers, content type or id (lenient like fedora-messaging)", async () => {
    const { bus, transport } = memoryBus();
    const seen: BusMessage[] = [];
    await bus.consume({ queue: "q4", bindings: ["#"], handler: (m) => { seen.push(m); return Promise.resolve(); } });
    await transport.send({ routingKey: TOPIC, body: Buffer.from('{"n":3}'), properties: { headers: {} } }, "amq.topic");
    await until(() => seen.length === 1);
    expect(seen[0]?.schema).toBe("atomic_ci.test.PingV1");
    expect(seen[0]?.severity).toBe(20);
    expect(seen[0]?.id).toMatch(/^sha256:/);
  });

  it("skips a message id it already processed", async () => {
    const { bus, metrics } = memoryBus();
    let calls = 0;
    await bus.consume({ queue: "q5", bindings: ["#"], handler: () => { calls++; return Promise.resolve(); } });
    await bus.publish("test.ping", { n: 1 }, { id: "same-id" });
    await bus.publish("test.ping", { n: 1 }, { id: "same-id" });
    await until(async () => (await counter(metrics, "duplicates", { consumer: "q5" })) === 1);
    expect(calls).toBe(1);
  });

  it("dead-letters on drop and stops on halt, requeueing when asked", async () => {
    const { bus, broker } = memoryBus();
    const consumer = await bus.consume({
      queue: "q6",
      bindings: ["#"],
      handler: (m) => Promise.resolve((m.body as { n: number }).n === 1 ? Outcomes.drop("not for us") : Outcomes.halt("stop", { requeue: true })),
    });
    await bus.publish("test.ping", { n: 1 });
    await until(() => broker.peek("q6.dead-letter").length === 1);
    expect(broker.peek("q6.dead-letter")[0]?.properties.headers[DEAD_LETTER_HEADERS.reason]).toBe("dropped");
    expect(consumer.isConsuming()).toBe(true);
    await bus.publish("test.ping", { n: 2 });
    await until(() => !consumer.isConsuming());
    await bus.stopConsuming();
    expect(broker.peek("q6").map((w) => JSON.parse(w.body.toString()) as unknown)).toEqual([{ n: 2 }]);
  });

  it("close waits for in-flight handlers and settles them", async () => {
    const { bus, broker } = memoryBus();
    let finished = false;
    let started = false;
    await bus.consume({
      queue: "q7",
      bindings: ["#"],
      handler: async () => {
        started = true;
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
      },
    });
    await bus.publish("test.ping", { n: 1 });
    await until(() => started);
    await bus.close();
    expect(finished).toBe(true);
    expect(broker.peek("q7")).toHaveLength(0);
  });

  it("puts the change-set id of a message on the handler's log context", async () => {
    const { bus } = memoryBus();
    const bindings: Record<string, unknown>[] = [];
    await bus.consume({
      queue: "q8",
      bindings: ["#"],
      handler: (_m, ctx) => { bindings.push(ctx.log.bindings()); return Promise.resolve(); },
    });
    const { id } = await bus.publish("test.ping", { n: 1, change_set_id: "cs-123" });
    await until(() => bindings.length === 1);
    expect(bindings[0]).toMatchObject({ message_id: id, change_set_id: "cs-123", consumer: "q8" });
  });
});
