import { randomUUID } from "node:crypto";
import type { Options } from "amqplib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BusMessage } from "../envelope.js";
import { Outcomes } from "../outcome.js";
import { DEAD_LETTER_HEADERS } from "../transport.js";
import { AmqpKit, KOJI_TOPIC, kojiFixture, metricValue, sleep, until } from "./amqp.test-helper.js";

const JSON_PROPS = { contentType: "application/json", contentEncoding: "utf-8", deliveryMode: 2 } as const;

let kit: AmqpKit;
beforeEach(async () => {
  kit = await AmqpKit.create();
});
afterEach(async () => {
  await kit.dispose();
});

/** Publish raw bytes with amqplib, as a foreign or broken publisher would. */
function rawPublish(body: Buffer | string, options: Options.Publish = {}, routingKey = kit.routingKey): void {
  kit.channel.publish("amq.topic", routingKey, Buffer.isBuffer(body) ? body : Buffer.from(body), options);
}

/** A koji body whose build name makes the message easy to tell apart. */
function kojiBody(name: string): Record<string, unknown> {
  return { ...kojiFixture().body, name };
}

describe("AMQP transport: consuming through the Bus", () => {
  it("hands the decoded message to the handler and acks it afterwards", async () => {
    const queue = kit.queue();
    const { bus, metrics } = kit.bus();
    const seen: BusMessage[] = [];
    await bus.consume({ queue, bindings: [kit.routingKey], handler: (m) => { seen.push(m); return Promise.resolve(); } });
    const { id } = await bus.publish(KOJI_TOPIC, kojiBody("acked"));

    await until(() => metricValue(metrics, "processed", { consumer: queue }).then((n) => n === 1));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id, topic: kit.routingKey, schema: "koji_fedoramessaging.build.BuildStateChangeV1", severity: 20, body: { name: "acked" } });
    // Closing requeues whatever is unacked, so an empty queue afterwards means it was acked.
    await bus.close();
    expect(await kit.ready(queue)).toBe(0);
    expect(await kit.ready(`${queue}.dead-letter`)).toBe(0);
  });

  it("requeues a failing handler, dead-letters after maxDeliveries, and keeps consuming", async () => {
    const queue = kit.queue();
    const { bus, metrics } = kit.bus();
    const counts: number[] = [];
    const handled: string[] = [];
    await bus.consume({
      queue,
      bindings: [kit.routingKey],
      maxDeliveries: 3,
      handler: (m, ctx) => {
        const name = (m.body as { name: string }).name;
        if (name === "poison") {
          counts.push(ctx.deliveryCount);
          return Promise.reject(new Error("handler exploded"));
        }
        handled.push(name);
        return Promise.resolve();
      },
    });
    await bus.publish(KOJI_TOPIC, kojiBody("poison"));
    await bus.publish(KOJI_TOPIC, kojiBody("healthy"));

    const dead = await kit.next(`${queue}.dead-letter`);
    const headers = dead.properties.headers ?? {};
    expect(headers[DEAD_LETTER_HEADERS.reason]).toBe("max-deliveries");
    expect(headers[DEAD_LETTER_HEADERS.detail]).toContain("handler failed: handler exploded (delivery 3 of 3)");
    expect(headers[DEAD_LETTER_HEADERS.consumer]).toBe(queue);
    expect(headers[DEAD_LETTER_HEADERS.routingKey]).toBe(kit.routingKey);
    expect(headers[DEAD_LETTER_HEADERS.deliveryCount]).toBe(3);
    // The original's count (2 previous deliveries) is not copied; the DLQ's own quorum queue
    // may add its own (0 for basic.get).
    expect(headers["x-delivery-count"] ?? 0).toBe(0);
    expect(headers["fedora_messaging_schema"]).toBe("koji_fedoramessaging.build.BuildStateChangeV1");
    expect(dead.properties.contentType).toBe("application/json");
    expect((JSON.parse(dead.content.toString()) as { name: string }).name).toBe("poison");
    // Quorum queues count redeliveries, so the handler saw 1, 2, 3.
    expect(counts).toEqual([1, 2, 3]);
    await until(() => handled.includes("healthy"));
    expect(await metricValue(metrics, "failed", { consumer: queue })).toBe(3);
    expect(await metricValue(metrics, "dropped", { consumer: queue, reason: "max-deliveries" })).toBe(1);
    await bus.close();
    expect(await kit.ready(queue)).toBe(0);
  });

  it("dead-letters bad input with the reason in headers, counts it, and keeps consuming", async () => {
    const queue = kit.queue();
    const { bus, metrics } = kit.bus();
    const handled: string[] = [];
    await bus.consume({
      queue,
      bindings: [kit.routingKey],
      maxBodyBytes: 16 * 1024,
      handler: (m) => { handled.push((m.body as { name: string }).name); return Promise.resolve(); },
    });
    const valid = kojiFixture().body;
    rawPublish("{not json", { ...JSON_PROPS, messageId: randomUUID() });
    rawPublish("[1, 2, 3]", { ...JSON_PROPS, messageId: randomUUID() });
    rawPublish(JSON.stringify(valid), { ...JSON_PROPS, contentType: "text/plain", messageId: randomUUID() });
    rawPublish(JSON.stringify({ ...valid, new: "x" }), { ...JSON_PROPS, messageId: randomUUID() });
    rawPublish(JSON.stringify({ ...valid, padding: "p".repeat(20 * 1024) }), { ...JSON_PROPS, messageId: randomUUID() });
    await bus.publish(KOJI_TOPIC, kojiBody("after-the-bad-ones"));

    await until(() => handled.length === 1);
    expect(handled).toEqual(["after-the-bad-ones"]);
    const reasons = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const msg = await kit.next(`${queue}.dead-letter`);
      const h = msg.properties.headers ?? {};
      reasons.set(String(h[DEAD_LETTER_HEADERS.reason]), String(h[DEAD_LETTER_HEADERS.detail]));
    }
    expect([...reasons.keys()].sort()).toEqual(["content-type", "not-an-object", "not-json", "schema", "too-large"]);
    expect(reasons.get("schema")).toContain("new");
    expect(reasons.get("content-type")).toContain("text/plain");
    expect(reasons.get("too-large")).toContain("limit is 16384");
    for (const reason of reasons.keys()) {
      expect(await metricValue(metrics, "rejected", { consumer: queue, reason })).toBe(1);
      expect(await metricValue(metrics, "dropped", { consumer: queue, reason })).toBe(1);
    }
    expect(await metricValue(metrics, "received", { consumer: queue })).toBe(6);
  });

  it("dead-letters bad input already queued when it starts on the first delivery (the backlog arrives with consume-ok)", async () => {
    const queue = kit.queue();
    // The consumer's queue exists (quorum, as the bus declares it) and holds a backlog before it consumes.
    const { bus: first } = kit.bus();
    await first.consume({ queue, bindings: [kit.routingKey], handler: () => Promise.resolve() });
    await first.close();
    const backlog = 30;
    for (let i = 0; i < backlog; i++) rawPublish("{not json", { ...JSON_PROPS, messageId: randomUUID() });
    await until(async () => (await kit.ready(queue)) === backlog, 10_000, "the backlog queued");

    const { bus, metrics } = kit.bus();
    await bus.consume({ queue, bindings: [kit.routingKey], handler: () => Promise.resolve() });
    await until(async () => (await kit.ready(`${queue}.dead-letter`)) === backlog, 20_000, "the backlog dead-lettered");
    // Each on its first delivery: none was put back because it arrived before `consume` resolved.
    for (let i = 0; i < backlog; i++) {
      const msg = await kit.next(`${queue}.dead-letter`);
      expect(msg.properties.headers?.[DEAD_LETTER_HEADERS.deliveryCount]).toBe(1);
    }
    expect(await metricValue(metrics, "received", { consumer: queue })).toBe(backlog);
  });

  it("accepts a message published without any properties or headers", async () => {
    const queue = kit.queue();
    const { bus } = kit.bus();
    const seen: BusMessage[] = [];
    await bus.consume({ queue, bindings: [kit.routingKey], handler: (m) => { seen.push(m); return Promise.resolve(); } });
    rawPublish(JSON.stringify(kojiBody("bare")));

    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ topic: kit.routingKey, schema: "koji_fedoramessaging.build.BuildStateChangeV1", severity: 20, headers: {}, body: { name: "bare" } });
    // No message_id: the identity is derived from the content.
    expect(seen[0]?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("dead-letters a message the handler drops", async () => {
    const queue = kit.queue();
    const { bus, metrics } = kit.bus();
    await bus.consume({ queue, bindings: [kit.routingKey], handler: () => Promise.resolve(Outcomes.drop("not an Atomic Host package")) });
    const { id } = await bus.publish(KOJI_TOPIC, kojiBody("dropped"));

    const dead = await kit.next(`${queue}.dead-letter`);
    expect(dead.properties.messageId).toBe(id);
    expect(dead.properties.headers?.[DEAD_LETTER_HEADERS.reason]).toBe("dropped");
    expect(dead.properties.headers?.[DEAD_LETTER_HEADERS.detail]).toBe("not an Atomic Host package");
    expect(await metricValue(metrics, "dropped", { consumer: queue, reason: "dropped" })).toBe(1);
    await bus.close();
    expect(await kit.ready(queue)).toBe(0);
  });

  it("stops the consumer on halt and leaves the message queued when requeue is asked", async () => {
    const queue = kit.queue();
    const { bus } = kit.bus();
    let calls = 0;
    const halts: string[] = [];
    const consumer = await bus.consume({
      queue,
      bindings: [kit.routingKey],
      handler: () => { calls += 1; return Promise.resolve(Outcomes.halt("disk full", { requeue: true })); },
      onHalt: (outcome) => halts.push(outcome.reason),
    });
    expect(consumer.isConsuming()).toBe(true);
    await bus.publish(KOJI_TOPIC, kojiBody("halting"));

    await until(() => halts.length === 1);
    expect(consumer.isConsuming()).toBe(false);
    expect(bus.isConsuming()).toBe(false);
    await until(() => kit.ready(queue).then((n) => n === 1), 5000, "message back in the queue");
    await sleep(300);
    // Not handed back to the halted consumer in a loop.
    expect(calls).toBe(1);
    expect(await kit.ready(queue)).toBe(1);
  });

  it("handles a duplicate message id once", async () => {
    const queue = kit.queue();
    const { bus, metrics } = kit.bus();
    const ids: string[] = [];
    await bus.consume({ queue, bindings: [kit.routingKey], handler: (m) => { ids.push(m.id); return Promise.resolve(); } });
    const id = randomUUID();
    await bus.publish(KOJI_TOPIC, kojiBody("once"), { id });
    await bus.publish(KOJI_TOPIC, kojiBody("once"), { id });

    await until(() => metricValue(metrics, "duplicates", { consumer: queue }).then((n) => n === 1));
    expect(ids).toEqual([id]);
    await bus.close();
    expect(await kit.ready(queue)).toBe(0);
  });

  it("acks handlers that finish out of order exactly once each (coalesced acks)", async () => {
    const queue = kit.queue();
    const { bus, metrics } = kit.bus();
    const names: string[] = [];
    await bus.consume({
      queue,
      bindings: [kit.routingKey],
      prefetch: 20,
      handler: async (m) => {
        const name = (m.body as { name: string }).name;
        // Every third message is slow, so later ones finish first.
        if (Number(name.slice(4)) % 3 === 0) await sleep(50);
        names.push(name);
      },
    });
    const total = 60;
    await Promise.all(Array.from({ length: total }, (_, i) => bus.publish(KOJI_TOPIC, kojiBody(`pkg-${i}`))));

    await until(() => metricValue(metrics, "processed", { consumer: queue }).then((n) => n === total), 15_000, "all processed");
    await bus.close();
    expect(new Set(names).size).toBe(total);
    // A double ack would have closed the channel (406) and brought redeliveries back.
    expect(await metricValue(metrics, "received", { consumer: queue })).toBe(total);
    expect(await metricValue(metrics, "duplicates", { consumer: queue })).toBe(0);
    expect(await kit.ready(queue)).toBe(0);
  });

  it("close() waits for a slow handler, whose message is acked and not redelivered", async () => {
    const queue = kit.queue();
    const { bus } = kit.bus();
    let started = false;
    let finished = false;
    await bus.consume({
      queue,
      bindings: [kit.routingKey],
      handler: async () => {
        started = true;
        await sleep(500);
        finished = true;
      },
    });
    await bus.publish(KOJI_TOPIC, kojiBody("slow"));
    await until(() => started);
    await bus.close();
    expect(finished).toBe(true);

    const { bus: next } = kit.bus();
    let redelivered = 0;
    await next.consume({ queue, bindings: [kit.routingKey], handler: () => { redelivered += 1; return Promise.resolve(); } });
    await sleep(300);
    expect(redelivered).toBe(0);
    expect(await kit.ready(queue)).toBe(0);
  });

  it("declares and consumes again when the broker cancels the consumer (queue deleted)", async () => {
    const queue = kit.queue();
    const { bus } = kit.bus({ amqp: { reconnect: { initialDelayMs: 50 } } });
    const seen: string[] = [];
    await bus.consume({ queue, bindings: [kit.routingKey], handler: (m) => { seen.push((m.body as { name: string }).name); return Promise.resolve(); } });
    await kit.channel.deleteQueue(queue);

    // Re-declared with its binding: a new publish reaches it.
    await until(() => kit.exists(queue), 5000, "queue declared again");
    await until(async () => {
      await bus.publish(KOJI_TOPIC, kojiBody("after-cancel")).catch(() => undefined);
      return seen.includes("after-cancel");
    }, 5000, "delivery after re-consume");
    expect(bus.isConsuming()).toBe(true);
  });
});
