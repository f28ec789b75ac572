import { randomUUID } from "node:crypto";
import { silentLogger } from "@atomic-ci/telemetry";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Bus } from "../bus.js";
import { MemoryIdempotencyStore } from "../idempotency/memory.js";
import { BusError, isBusError } from "../errors.js";
import { AmqpKit, KOJI_TOPIC, kojiFixture, metricValue, transportSocket } from "./amqp.test-helper.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SENT_AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/;

let kit: AmqpKit;
beforeEach(async () => {
  kit = await AmqpKit.create();
});
afterEach(async () => {
  await kit.dispose();
});

describe("AMQP transport: publishing", () => {
  it("publishes the fedora-messaging wire format, as a raw amqplib consumer sees it", async () => {
    const routingKey = kit.routingKey;
    const watch = await kit.watch(routingKey);
    const { bus } = kit.bus();
    const { body } = kojiFixture();

    const published = await bus.publish(KOJI_TOPIC, body);
    const msg = await kit.next(watch);

    expect(published.routingKey).toBe(routingKey);
    expect(msg.fields.exchange).toBe("amq.topic");
    expect(msg.fields.routingKey).toBe(routingKey);
    expect(msg.properties.contentType).toBe("application/json");
    expect(msg.properties.contentEncoding).toBe("utf-8");
    expect(msg.properties.deliveryMode).toBe(2);
    expect(msg.properties.messageId).toBe(published.id);
    expect(msg.properties.messageId).toMatch(UUID_V4);
    const headers = msg.properties.headers ?? {};
    expect(headers).toMatchObject({
      fedora_messaging_schema: "koji_fedoramessaging.build.BuildStateChangeV1",
      fedora_messaging_schema_package: "koji_fedoramessaging_messages",
      fedora_messaging_severity: 20,
      priority: 0,
      fedora_messaging_user_spot: true,
      "fedora_messaging_rpm_prusa-slicer": true,
    });
    expect(headers["sent-at"]).toMatch(SENT_AT);
    expect(JSON.parse(msg.content.toString("utf8"))).toEqual(body);
  });

  it("stamps the connection's user as user_id (RabbitMQ validates it), whatever the bus was told", async () => {
    const routingKey = kit.routingKey;
    const watch = await kit.watch(routingKey);
    const { bus: forged } = kit.bus({ settings: { topicPrefix: kit.prefix, userId: "atomic-ci-gatekeeper" } });
    await forged.publish(KOJI_TOPIC, kojiFixture().body);
    const msg = await kit.next(watch);
    expect(msg.properties.userId).toBe(new URL(kit.url).username || "guest");
  });

  it("resolves once the broker confirmed: the message is already in the queue", async () => {
    const watch = await kit.watch(kit.routingKey);
    const { bus, metrics } = kit.bus();
    for (let i = 0; i < 5; i++) await bus.publish(KOJI_TOPIC, kojiFixture().body);
    expect(await kit.ready(watch)).toBe(5);
    expect(await metricValue(metrics, "publishConfirms", { transport: "amqp" })).toBe(5);
  });

  it("rejects an unroutable publish with PUBLISH_RETURNED and matches the return to its own publish", async () => {
    const routable = kit.routingKey;
    const watch = await kit.watch(routable);
    const { bus, metrics } = kit.bus();
    const { body } = kojiFixture();
    // Interleaved: only the middle one has no queue bound; its return must not fail the others.
    const results = await Promise.allSettled([
      bus.publish(KOJI_TOPIC, body),
      bus.publish(KOJI_TOPIC, body, { topicPrefix: "org.example.nobody-listens" }),
      bus.publish(KOJI_TOPIC, body),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const err = (results[1] as PromiseRejectedResult).reason as unknown;
    expect(isBusError(err, "PUBLISH_RETURNED")).toBe(true);
    expect((err as BusError).message).toContain("NO_ROUTE");
    expect(await kit.ready(watch)).toBe(2);
    expect(await metricValue(metrics, "publishReturns", { transport: "amqp", reason: "PUBLISH_RETURNED" })).toBe(1);

    // Same message id twice (a replay): the return still goes to the unroutable one.
    const id = randomUUID();
    const replays = await Promise.allSettled([
      bus.publish(KOJI_TOPIC, body, { id, topicPrefix: "org.example.nobody-listens" }),
      bus.publish(KOJI_TOPIC, body, { id }),
    ]);
    expect(replays.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    expect(await kit.ready(watch)).toBe(3);
  });

  it("rejects a publish to a missing exchange with a BusError, and the next publishes work", async () => {
    const watch = await kit.watch(kit.routingKey);
    const { bus: good, transport, metrics } = kit.bus();
    const missing = kit.queue("no-such-exchange");
    const deps = { transport, registry: good.registry, idempotency: new MemoryIdempotencyStore(), metrics, logger: silentLogger() };
    const bad = new Bus(deps, { exchange: missing, topicPrefix: kit.prefix });
    const { body } = kojiFixture();

    // The 404 closes the publish channel under a concurrent, innocent publish: that one is retried.
    const [failed, innocent] = await Promise.allSettled([bad.publish(KOJI_TOPIC, body), good.publish(KOJI_TOPIC, body)]);
    expect(failed.status).toBe("rejected");
    const err = (failed as PromiseRejectedResult).reason as unknown;
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe("PUBLISH_RETURNED");
    expect((err as BusError).message).toContain(`no exchange '${missing}'`);
    expect(innocent.status).toBe("fulfilled");

    await good.publish(KOJI_TOPIC, body);
    expect(await kit.ready(watch)).toBe(2);
    expect(transport.isConnected()).toBe(true);
  });

  it("rejects sends with CLOSED once the transport is closed", async () => {
    const { bus, transport } = kit.bus();
    await bus.connect();
    await transport.close();
    const err = await transport.send({ routingKey: "x", body: Buffer.from("{}"), properties: { headers: {} } }, "amq.topic").catch((e: unknown) => e);
    expect(isBusError(err, "CLOSED")).toBe(true);
    expect(transport.isConnected()).toBe(false);
  });

  it("sends the frames of a burst of publishes together: a few writev calls, not a syscall per frame", async () => {
    const watch = await kit.watch(kit.routingKey);
    const { bus, transport } = kit.bus();
    await bus.connect();
    const { body } = kojiFixture();
    // Count what the socket hands to the kernel: one `_write` per chunk, or one `_writev` per batch.
    const socket = transportSocket(transport) as unknown as Record<"_write" | "_writev", (...args: unknown[]) => unknown>;
    let writes = 0;
    for (const name of ["_write", "_writev"] as const) {
      const original = socket[name].bind(socket);
      socket[name] = (...args: unknown[]) => {
        writes += 1;
        return original(...args);
      };
    }
    const burst = 100;
    await Promise.all(Array.from({ length: burst }, () => bus.publish(KOJI_TOPIC, body)));
    for (let i = 0; i < burst; i++) await kit.next(watch);
    // Uncoalesced, each publish is two writes (the koji fixture is over amqplib's one-chunk
    // size); coalesced, one writev per socket buffer's worth (16 KiB high-water mark).
    expect(writes).toBeLessThan(burst / 2);
  });
});
