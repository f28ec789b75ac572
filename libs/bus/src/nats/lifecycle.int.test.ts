import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsKit, TOPIC, metricValue, sleep, tagBody, until } from "./nats.test-helper.js";
import { durableName } from "./subjects.js";
import { NatsTransport } from "./transport.js";

let kit: NatsKit;
beforeAll(async () => {
  kit = await NatsKit.create();
});
afterAll(async () => {
  await kit.dispose();
});

const nameOf = (body: unknown) => (body as { name: string }).name;

/** The live nats.js connection under a transport, to force a reconnect. */
async function connectionOf(transport: NatsTransport): Promise<NatsConnection> {
  const internal = transport as unknown as { connection(): Promise<{ nc: NatsConnection }> };
  return (await internal.connection()).nc;
}

describe("NATS transport: lifecycle", () => {
  it("keeps the durable consumer across a close: messages sent meanwhile arrive on restart", async () => {
    const scope = kit.scope();
    const queue = `svc.${kit.queue()}`; // dots: mapped to a valid durable name
    const first = kit.bus(scope);
    const names: string[] = [];
    const handler = (m: { body: unknown }) => { names.push(nameOf(m.body)); return Promise.resolve(); };
    await first.bus.consume({ queue, bindings: [`${scope}.#`], handler });
    await first.bus.publish(TOPIC, tagBody("before"));
    await until(() => names.length === 1);
    await first.bus.close();
    expect(first.transport.isConnected()).toBe(false);

    const publisher = kit.bus(scope);
    await publisher.bus.publish(TOPIC, tagBody("while-down-1"));
    await publisher.bus.publish(TOPIC, tagBody("while-down-2"));
    const info = await kit.consumerInfo(queue);
    expect(info.name).toBe(durableName(queue));
    expect(info.name).not.toContain(".");
    expect(info.num_pending).toBe(2);

    const second = kit.bus(scope);
    await second.bus.consume({ queue, bindings: [`${scope}.#`], handler });
    await until(() => names.length === 3);
    expect(names).toEqual(["before", "while-down-1", "while-down-2"]);
  });

  it("close waits for a slow handler and acks its message before draining", async () => {
    const scope = kit.scope();
    const queue = kit.queue();
    const { bus, metrics } = kit.bus(scope);
    let started = false;
    let finished = false;
    await bus.consume({
      queue,
      bindings: [`${scope}.#`],
      handler: async () => {
        started = true;
        await sleep(700);
        finished = true;
      },
    });
    await bus.publish(TOPIC, tagBody("slow"));
    await until(() => started);
    await bus.close();
    expect(finished).toBe(true);
    expect(await metricValue(metrics, "processed", { consumer: queue })).toBe(1);
    const info = await kit.consumerInfo(queue);
    expect(info.num_ack_pending + info.num_pending).toBe(0);
  });

  it("hands out at most `prefetch` messages at once", async () => {
    const scope = kit.scope();
    const { bus } = kit.bus(scope);
    let running = 0;
    let peak = 0;
    let done = 0;
    await bus.consume({
      queue: kit.queue(),
      bindings: [`${scope}.#`],
      prefetch: 3,
      handler: async () => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(150);
        running -= 1;
        done += 1;
      },
    });
    for (let i = 0; i < 8; i++) await bus.publish(TOPIC, tagBody(`m${i}`));
    await until(() => done === 8);
    // Concurrent (not one by one), and never above prefetch.
    expect(peak).toBe(3);
  });

  it("does not redeliver a message whose handler runs longer than ack_wait", async () => {
    const scope = kit.scope();
    const { bus, transport, metrics } = kit.bus(scope, kit.transport({ ackWaitMs: 1_000 }));
    const queue = kit.queue();
    const counts: number[] = [];
    await bus.consume({
      queue,
      bindings: [`${scope}.#`],
      handler: async (_m, ctx) => {
        counts.push(ctx.deliveryCount);
        await sleep(2_500);
      },
    });
    await bus.publish(TOPIC, tagBody("long"));
    await until(() => counts.length === 1);
    await sleep(3_000);
    expect(counts).toEqual([1]);
    // A redelivery would not reach the handler (the idempotency claim is held) but would be received.
    expect(await metricValue(metrics, "received", { consumer: queue })).toBe(1);
    expect(transport.options.ackWaitMs).toBe(1_000);
  });

  it("reports a reconnect and goes on consuming after it", async () => {
    const scope = kit.scope();
    const events: string[] = [];
    const transport = new NatsTransport(kit.options(), { events: { onConnected: ({ attempt }) => events.push(`up ${attempt}`), onDisconnected: () => events.push("down") } });
    const { bus } = kit.bus(scope, transport);
    const names: string[] = [];
    await bus.consume({ queue: kit.queue(), bindings: [`${scope}.#`], handler: (m) => { names.push(nameOf(m.body)); return Promise.resolve(); } });
    await bus.publish(TOPIC, tagBody("before"));
    await until(() => names.length === 1);

    await (await connectionOf(transport)).reconnect();
    await until(() => events.includes("up 2"), 10_000, "reconnected");
    expect(events).toEqual(["up 1", "down", "up 2"]);
    expect(transport.isConnected()).toBe(true);
    await bus.publish(TOPIC, tagBody("after"));
    await until(() => names.length === 2, 15_000, "message after reconnect");
    expect(names).toEqual(["before", "after"]);
  });

  it("rejects sends after close with CLOSED", async () => {
    const transport = kit.transport();
    await transport.connect();
    expect(transport.isConnected()).toBe(true);
    await transport.close();
    const error = await transport.send({ routingKey: `${kit.prefix}.x`, body: Buffer.from("{}"), properties: { headers: {} } }, "amq.topic").catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe("CLOSED");
  });
});
