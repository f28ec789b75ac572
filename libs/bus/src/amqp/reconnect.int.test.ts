import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isBusError } from "../errors.js";
import { AmqpKit, KOJI_TOPIC, kojiFixture, metricValue, until, transportSocket } from "./amqp.test-helper.js";

// The connection is cut by destroying the client's socket with an error, as a network
// failure would; this needs no rabbitmqctl, so it runs wherever the broker is.

let kit: AmqpKit;
beforeEach(async () => {
  kit = await AmqpKit.create();
});
afterEach(async () => {
  await kit.dispose();
});

function kojiBody(name: string): Record<string, unknown> {
  return { ...kojiFixture().body, name };
}

describe("AMQP transport: connection loss", () => {
  it("reconnects, declares the consumer's topology again, re-consumes, and delivers a publish made during the outage", async () => {
    const queue = kit.queue();
    const { bus, transport, metrics } = kit.bus({ amqp: { reconnect: { initialDelayMs: 400, maxDelayMs: 1000, jitter: 0 } } });
    const seen: string[] = [];
    await bus.consume({ queue, bindings: [kit.routingKey], handler: (m) => { seen.push((m.body as { name: string }).name); return Promise.resolve(); } });
    await bus.publish(KOJI_TOPIC, kojiBody("before"));
    await until(() => seen.includes("before"));

    transportSocket(transport).destroy(new Error("test: network cut"));
    await until(() => !transport.isConnected(), 5000, "connection loss noticed");
    // While we are away the queue (and so its binding) disappears: only a re-declaration brings it back.
    await kit.channel.deleteQueue(queue);
    expect(await kit.exists(queue)).toBe(false);

    const during = bus.publish(KOJI_TOPIC, kojiBody("during"));
    expect(transport.isConnected()).toBe(false);
    const published = await during;

    expect(transport.isConnected()).toBe(true);
    await until(() => seen.includes("during"), 10_000, "delivery after reconnect");
    expect(published.routingKey).toBe(kit.routingKey);
    expect(bus.isConsuming()).toBe(true);
    expect(await metricValue(metrics, "connections", { transport: "amqp", result: "lost" })).toBe(1);
    expect(await metricValue(metrics, "connections", { transport: "amqp", result: "success" })).toBe(2);
  });

  it("gets a message back whose ack was lost with the connection, and recognises it as already handled", async () => {
    const queue = kit.queue();
    const { bus, transport, metrics } = kit.bus({ amqp: { reconnect: { initialDelayMs: 200, jitter: 0 } } });
    let calls = 0;
    let confirmed: Promise<unknown> = Promise.resolve();
    await bus.consume({
      queue,
      bindings: [kit.routingKey],
      handler: async () => {
        calls += 1;
        // Only the ack may be lost here: cut once the publish is confirmed. A cut before the
        // confirm is read loses the confirm too, and the publisher rightly sends the message
        // again (a second copy; see the next test). Under load the delivery can be read before
        // the confirm, which made this test wait forever for exactly one duplicate.
        await confirmed;
        // The handler succeeds, but its ack cannot be sent any more.
        transportSocket(transport).destroy(new Error("test: cut while handling"));
      },
    });
    confirmed = bus.publish(KOJI_TOPIC, kojiBody("interrupted"));
    await confirmed;
    // Generous: on a loaded 2-core CI machine, noticing the cut, reconnecting and the redelivery can take seconds.
    await until(() => metricValue(metrics, "duplicates", { consumer: queue }).then((n) => n >= 1), 30_000, "redelivery seen as duplicate");
    await bus.close(); // drains: the duplicate's ack is sent before the channel closes
    expect(await kit.ready(queue)).toBe(0);
    expect(calls).toBe(1);
    // Exactly one more delivery (the redelivery), and it was a duplicate.
    expect(await metricValue(metrics, "received", { consumer: queue })).toBe(2);
    expect(await metricValue(metrics, "duplicates", { consumer: queue })).toBe(1);
    expect(await metricValue(metrics, "processed", { consumer: queue })).toBe(1);
  });

  it("runs the handler once when a cut loses the ack and perhaps the publish's confirm (the resent copy is a duplicate too)", async () => {
    const queue = kit.queue();
    const { bus, transport, metrics } = kit.bus({ amqp: { reconnect: { initialDelayMs: 200, jitter: 0 } } });
    let calls = 0;
    await bus.consume({
      queue,
      bindings: [kit.routingKey],
      handler: () => {
        calls += 1;
        // Cut as soon as the message arrives: whether the publish's confirm was read before
        // is up to the scheduler. If it was not, the publisher sends the message again after
        // the reconnect, and the consumer gets two copies back instead of one.
        transportSocket(transport).destroy(new Error("test: cut on delivery"));
        return Promise.resolve();
      },
    });
    // Resolves once some transmission was confirmed: every copy is in the queue by then.
    await bus.publish(KOJI_TOPIC, kojiBody("interrupted"));
    const count = (name: "received" | "duplicates" | "processed") => metricValue(metrics, name, { consumer: queue });
    await until(
      async () => (await count("duplicates")) >= 1 && (await count("received")) === 1 + (await count("duplicates")) && (await kit.ready(queue)) === 0,
      30_000,
      "every copy back and acked as a duplicate",
    );
    await bus.close();
    expect(await kit.ready(queue)).toBe(0);
    expect(calls).toBe(1);
    expect(await count("processed")).toBe(1);
    const duplicates = await count("duplicates");
    expect(duplicates === 1 || duplicates === 2).toBe(true);
    expect(await count("received")).toBe(1 + duplicates);
  });

  it("fails a publish with PUBLISH_TIMEOUT when no connection comes back in time", async () => {
    const { bus, transport } = kit.bus({ amqp: { publishTimeoutMs: 300, reconnect: { initialDelayMs: 5000, maxDelayMs: 5000 } } });
    await bus.connect();
    transportSocket(transport).destroy(new Error("test: network cut"));
    await until(() => !transport.isConnected(), 5000);
    const started = Date.now();
    const err = await bus.publish(KOJI_TOPIC, kojiBody("lost")).catch((e: unknown) => e);
    expect(isBusError(err, "PUBLISH_TIMEOUT")).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("rejects a publish still waiting for the connection with CLOSED on close()", async () => {
    const { bus, transport } = kit.bus({ amqp: { reconnect: { initialDelayMs: 5000, maxDelayMs: 5000 } } });
    await bus.connect();
    transportSocket(transport).destroy(new Error("test: network cut"));
    await until(() => !transport.isConnected(), 5000);
    const waiting = bus.publish(KOJI_TOPIC, kojiBody("never")).catch((e: unknown) => e);
    await until(() => transport.pendingPublishes === 1, 2000);
    await transport.close();
    expect(isBusError(await waiting, "CLOSED")).toBe(true);
  });

  it("reports a first connection failure as CONNECTION without the password", async () => {
    const transport = kit.transport({ url: "amqp://someone:s3cret-pw@127.0.0.1:1", connectTimeoutMs: 2000 });
    const err = await transport.connect().catch((e: unknown) => e);
    expect(isBusError(err, "CONNECTION")).toBe(true);
    expect((err as Error).message).toContain("amqp://someone:***@127.0.0.1:1");
    expect((err as Error).message).not.toContain("s3cret-pw");
  });
});
