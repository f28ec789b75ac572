import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isBusError } from "../errors.js";
import { AmqpKit, KOJI_TOPIC, PROD_PREFIX, kojiFixture, metricValue, until, transportSocket } from "./amqp.test-helper.js";

// The connection is cut by destroying the client's socket with an error, as a network
// failure would; this needs no rabbitmqctl, so it runs wherever the broker is.
const ROUTING_KEY = `${PROD_PREFIX}.${KOJI_TOPIC}`;

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
    await bus.consume({ queue, bindings: [ROUTING_KEY], handler: (m) => { seen.push((m.body as { name: string }).name); return Promise.resolve(); } });
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
    expect(published.routingKey).toBe(ROUTING_KEY);
    expect(bus.isConsuming()).toBe(true);
    expect(await metricValue(metrics, "connections", { transport: "amqp", result: "lost" })).toBe(1);
    expect(await metricValue(metrics, "connections", { transport: "amqp", result: "success" })).toBe(2);
  });

  it("gets a message back whose ack was lost with the connection, and recognises it as already handled", async () => {
    const queue = kit.queue();
    const { bus, transport, metrics } = kit.bus({ amqp: { reconnect: { initialDelayMs: 200, jitter: 0 } } });
    let calls = 0;
    await bus.consume({
      queue,
      bindings: [ROUTING_KEY],
      handler: () => {
        calls += 1;
        // The handler succeeds, but its ack cannot be sent any more.
        transportSocket(transport).destroy(new Error("test: cut while handling"));
        return Promise.resolve();
      },
    });
    await bus.publish(KOJI_TOPIC, kojiBody("interrupted"));
    // Generous: on a loaded 2-core CI machine, noticing the cut, reconnecting and the redelivery can take seconds.
    await until(() => metricValue(metrics, "duplicates", { consumer: queue }).then((n) => n === 1), 30_000, "redelivery seen as duplicate");
    expect(calls).toBe(1);
    await bus.close();
    expect(await kit.ready(queue)).toBe(0);
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
