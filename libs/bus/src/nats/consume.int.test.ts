import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusMessage } from "../envelope.js";
import { BusError } from "../errors.js";
import { Outcomes } from "../outcome.js";
import { DEAD_LETTER_HEADERS, type Delivery, type WireProperties } from "../transport.js";
import { NatsKit, TOPIC, metricValue, sleep, tagBody, until } from "./nats.test-helper.js";

let kit: NatsKit;
beforeAll(async () => {
  kit = await NatsKit.create();
});
afterAll(async () => {
  await kit.dispose();
});

const JSON_PROPS = { contentType: "application/json", contentEncoding: "utf-8", deliveryMode: 2 } as const;

describe("NATS transport: publish and consume through the Bus", () => {
  it("round-trips a message with its headers and their types", async () => {
    const scope = kit.scope();
    const queue = kit.queue();
    const { bus, metrics } = kit.bus(scope);
    const seen: BusMessage[] = [];
    await bus.consume({ queue, bindings: [`${scope}.${TOPIC}`], handler: (m) => { seen.push(m); return Promise.resolve(); } });
    const { id, routingKey } = await bus.publish(TOPIC, tagBody("rpm-ostree"), { priority: 3, headers: { atomic_ci_change_set: "cs-1", retries: 2, pinned: false, numeric_text: "42" } });

    await until(() => metricValue(metrics, "processed", { consumer: queue }).then((n) => n === 1));
    expect(routingKey).toBe(`${scope}.${TOPIC}`);
    const [message] = seen;
    expect(message).toMatchObject({ id, topic: routingKey, schema: "koji_fedoramessaging.tag.TagV1", severity: 10, priority: 3, body: tagBody("rpm-ostree") });
    expect(message?.sentAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
    expect(message?.headers).toEqual({
      fedora_messaging_schema: "koji_fedoramessaging.tag.TagV1",
      fedora_messaging_schema_package: "koji_fedoramessaging_messages",
      "sent-at": message?.sentAt,
      fedora_messaging_severity: 10,
      priority: 3,
      fedora_messaging_user_bodhi: true,
      fedora_messaging_user_alice: true,
      "fedora_messaging_rpm_rpm-ostree": true,
      atomic_ci_change_set: "cs-1",
      retries: 2,
      pinned: false,
      numeric_text: "42",
    });
    // Acked (the pipeline counts it processed just before acking): nothing left for the durable.
    await until(() => kit.consumerInfo(queue).then((i) => i.num_ack_pending + i.num_pending === 0), 5_000, "message acked");
  });

  it("keeps every wire property and odd header names and values at the transport level", async () => {
    const scope = kit.scope();
    const transport = kit.transport();
    const deliveries: Delivery[] = [];
    const handle = await transport.consume(
      { queue: kit.queue(), bindings: [`${scope}.raw`], exchange: "amq.topic", prefetch: 5, deadLetter: "raw.dead-letter", maxDeliveries: 3 },
      async (d) => { deliveries.push(d); await d.ack(); },
    );
    const properties: WireProperties = {
      contentType: "application/json; charset=utf-8",
      contentEncoding: "utf-8",
      messageId: randomUUID(),
      deliveryMode: 2,
      priority: 7,
      timestamp: 1_700_000_000,
      headers: { "with space: and colon": "x", "ünïcode-name": 1.5, padded: "  kept  ", nothing: null, multi: "line\nbreak", big: 2 ** 40 },
    };
    await transport.send({ routingKey: `${scope}.raw`, body: Buffer.from('{"a":1}'), properties }, "amq.topic");
    await until(() => deliveries.length === 1);
    expect(deliveries[0]?.routingKey).toBe(`${scope}.raw`);
    expect(deliveries[0]?.body.toString()).toBe('{"a":1}');
    expect(deliveries[0]?.deliveryCount).toBe(1);
    expect(deliveries[0]?.properties).toEqual(properties);
    await handle.cancel();
  });

  it("does not deliver messages on subjects or exchanges the consumer is not bound to", async () => {
    const scope = kit.scope();
    const queue = kit.queue();
    const { bus, transport } = kit.bus(scope);
    const names: string[] = [];
    await bus.consume({ queue, bindings: [`${scope}.${TOPIC}`], handler: (m) => { names.push((m.body as { name: string }).name); return Promise.resolve(); } });
    await bus.publish(TOPIC, tagBody("other-subject"), { topicPrefix: `${scope}.elsewhere` });
    await transport.send({ routingKey: `${scope}.${TOPIC}`, body: Buffer.from(JSON.stringify(tagBody("other-exchange"))), properties: { ...JSON_PROPS, headers: {} } }, "other.exchange");
    await bus.publish(TOPIC, tagBody("bound"));

    await until(() => names.length === 1);
    await sleep(300);
    expect(names).toEqual(["bound"]);
  });

  it("rejects a publish no stream captures as PUBLISH_RETURNED", async () => {
    const { bus, transport, metrics } = kit.bus(kit.scope());
    const error = await bus.publish(TOPIC, tagBody("lost"), { topicPrefix: "natstest-no-stream" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusError);
    expect((error as BusError).code).toBe("PUBLISH_RETURNED");
    expect(await metricValue(metrics, "publishReturns", { transport: "nats", reason: "PUBLISH_RETURNED" })).toBe(1);
    const invalid = await transport.send({ routingKey: `${kit.prefix}..empty-word`, body: Buffer.from("{}"), properties: { headers: {} } }, "amq.topic").catch((e: unknown) => e);
    expect((invalid as BusError).code).toBe("PUBLISH_RETURNED");
  });

  it("requeues a failing handler with backoff, dead-letters after maxDeliveries and goes on", async () => {
    const scope = kit.scope();
    const queue = kit.queue();
    const { bus, transport, metrics } = kit.bus(scope);
    const counts: number[] = [];
    const handled: string[] = [];
    await bus.consume({
      queue,
      bindings: [`${scope}.#`],
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
    const { id } = await bus.publish(TOPIC, tagBody("poison"));
    await bus.publish(TOPIC, tagBody("healthy"));

    await until(() => metricValue(metrics, "dropped", { consumer: queue, reason: "max-deliveries" }).then((n) => n === 1));
    expect(counts).toEqual([1, 2, 3]);
    expect(handled).toEqual(["healthy"]);
    expect(await metricValue(metrics, "requeued", { consumer: queue })).toBe(2);
    const [dead, ...more] = await transport.readDeadLetters(`${queue}.dead-letter`);
    expect(more).toHaveLength(0);
    const headers = dead?.properties.headers ?? {};
    expect(headers[DEAD_LETTER_HEADERS.reason]).toBe("max-deliveries");
    expect(headers[DEAD_LETTER_HEADERS.detail]).toBe("handler failed: handler exploded (delivery 3 of 3)");
    expect(headers[DEAD_LETTER_HEADERS.consumer]).toBe(queue);
    expect(headers[DEAD_LETTER_HEADERS.routingKey]).toBe(`${scope}.${TOPIC}`);
    expect(headers[DEAD_LETTER_HEADERS.deliveryCount]).toBe(3);
    expect(headers["fedora_messaging_severity"]).toBe(10);
    expect(dead?.properties.messageId).toBe(id);
    expect(dead?.routingKey).toBe(`${scope}.${TOPIC}`);
    expect(JSON.parse(dead?.body.toString() ?? "null")).toEqual(tagBody("poison"));
    await until(() => kit.consumerInfo(queue).then((i) => i.num_ack_pending + i.num_pending === 0), 5_000, "poison message gone from the durable");
  });

  it("dead-letters invalid bodies with their reason and counts them", async () => {
    const scope = kit.scope();
    const queue = kit.queue();
    const { bus, transport, metrics } = kit.bus(scope);
    let handled = 0;
    await bus.consume({ queue, bindings: [`${scope}.#`], maxBodyBytes: 2048, handler: () => { handled += 1; return Promise.resolve(); } });
    const send = (body: string, properties: Partial<WireProperties> = {}) =>
      transport.send({ routingKey: `${scope}.${TOPIC}`, body: Buffer.from(body), properties: { ...JSON_PROPS, messageId: randomUUID(), headers: {}, ...properties } }, "amq.topic");
    await send("{not json");
    await send("[1, 2, 3]");
    await send(JSON.stringify(tagBody("xml")), { contentType: "application/xml" });
    await send(JSON.stringify({ name: "no build id" }));
    await send(JSON.stringify({ ...tagBody("huge"), padding: "x".repeat(4096) }));

    const expected = { "not-json": 1, "not-an-object": 1, "content-type": 1, schema: 1, "too-large": 1 };
    await until(async () => (await transport.readDeadLetters(`${queue}.dead-letter`)).length === 5);
    const reasons = (await transport.readDeadLetters(`${queue}.dead-letter`)).map((m) => m.properties.headers[DEAD_LETTER_HEADERS.reason]);
    expect(reasons.sort()).toEqual(Object.keys(expected).sort());
    for (const reason of Object.keys(expected)) {
      expect(await metricValue(metrics, "rejected", { consumer: queue, reason })).toBe(1);
      expect(await metricValue(metrics, "dropped", { consumer: queue, reason })).toBe(1);
    }
    expect(handled).toBe(0);
  });

  it("dead-letters a message the handler drops", async () => {
    const scope = kit.scope();
    const queue = kit.queue();
    const { bus, transport, metrics } = kit.bus(scope);
    await bus.consume({ queue, bindings: [`${scope}.#`], handler: () => Promise.resolve(Outcomes.drop("not an Atomic Host package")) });
    await bus.publish(TOPIC, tagBody("firefox"));

    await until(async () => (await transport.readDeadLetters(`${queue}.dead-letter`)).length === 1);
    const [dead] = await transport.readDeadLetters(`${queue}.dead-letter`);
    expect(dead?.properties.headers[DEAD_LETTER_HEADERS.reason]).toBe("dropped");
    expect(dead?.properties.headers[DEAD_LETTER_HEADERS.detail]).toBe("not an Atomic Host package");
    expect(await metricValue(metrics, "dropped", { consumer: queue, reason: "dropped" })).toBe(1);
    await until(() => kit.consumerInfo(queue).then((i) => i.num_ack_pending + i.num_pending === 0), 5_000, "dropped message terminated");
  });

  it("stops the consumer on halt and keeps the message for the next consumer", async () => {
    const scope = kit.scope();
    const queue = kit.queue();
    const { bus } = kit.bus(scope);
    let calls = 0;
    const halts: string[] = [];
    const consumer = await bus.consume({
      queue,
      bindings: [`${scope}.#`],
      handler: () => { calls += 1; return Promise.resolve(Outcomes.halt("disk full", { requeue: true })); },
      onHalt: (outcome) => halts.push(outcome.reason),
    });
    const { id } = await bus.publish(TOPIC, tagBody("halting"));
    await until(() => halts.length === 1);
    expect(consumer.isConsuming()).toBe(false);
    await sleep(500);
    // Not handed back to the halted consumer in a loop.
    expect(calls).toBe(1);
    await bus.close();

    // The server does not count a redelivery it could not hand to anyone (the halted
    // consumer had stopped pulling), so only the message id is compared, not deliveryCount.
    const { bus: next } = kit.bus(scope);
    const ids: string[] = [];
    await next.consume({ queue, bindings: [`${scope}.#`], handler: (m) => { ids.push(m.id); return Promise.resolve(); } });
    await until(() => ids.length === 1);
    expect(ids).toEqual([id]);
  });

  it("translates AMQP patterns: `a.#` matches `a`, `#` in the middle is filtered exactly", async () => {
    const scope = kit.scope();
    const transport = kit.transport();
    const got = { tail: [] as string[], middle: [] as string[] };
    const spec = { exchange: "amq.topic", prefetch: 10, maxDeliveries: 3 };
    const tail = await transport.consume({ ...spec, queue: kit.queue(), bindings: [`${scope}.a.#`], deadLetter: "tail.dl" }, async (d) => { got.tail.push(d.routingKey); await d.ack(); });
    const middle = await transport.consume({ ...spec, queue: kit.queue(), bindings: [`${scope}.#.z`], deadLetter: "middle.dl" }, async (d) => { got.middle.push(d.routingKey); await d.ack(); });
    const keys = ["a", "a.b", "a.b.c", "ab", "z", "y.z", "y.x.z", "z.y", "y.zz"].map((k) => `${scope}.${k}`);
    for (const routingKey of keys) await transport.send({ routingKey, body: Buffer.from("{}"), properties: { headers: {} } }, "amq.topic");
    await until(() => got.tail.length === 3 && got.middle.length === 3);
    await sleep(300);
    expect(got.tail.sort()).toEqual(["a", "a.b", "a.b.c"].map((k) => `${scope}.${k}`));
    expect(got.middle.sort()).toEqual(["y.x.z", "y.z", "z"].map((k) => `${scope}.${k}`));
    await tail.cancel();
    await middle.cancel();
  });
});
