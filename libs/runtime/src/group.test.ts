import { Outcomes, type Outcome } from "@atomic-ci/bus";
import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { defineService } from "./definition.js";
import { runServices, type GroupHandle } from "./group.js";
import { get, PING_TOPIC, PONG_TOPIC, pingRegistry, waitFor } from "./testing.js";

const quiet = new Writable({ write: (_chunk, _enc, done) => done() });

describe("runServices", () => {
  const groups: GroupHandle[] = [];
  afterEach(async () => {
    for (const g of groups.splice(0)) await g.shutdown("test over");
  });

  function pipeline(onPong: (n: number) => Outcome) {
    const upstream = defineService({
      name: "composer",
      bindings: ["#.test.ping"],
      handle: async (message, _ctx, service) => {
        await service.bus.publish(PONG_TOPIC, { n: (message.body as { n: number }).n + 1 });
      },
    });
    const downstream = defineService({
      name: "image-builder",
      bindings: ["#.test.pong"],
      handle: (message) => Promise.resolve(onPong((message.body as { n: number }).n)),
    });
    return runServices([upstream, downstream], {
      registry: pingRegistry(),
      logDestination: quiet,
      processMetrics: false,
      config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 } } },
    });
  }

  it("runs services on one broker, each with its own health server", async () => {
    const pongs: number[] = [];
    const group = await pipeline((n) => (pongs.push(n), Outcomes.ack()));
    groups.push(group);
    const [composer, builder] = group.services;
    expect(composer?.httpPort).not.toBe(builder?.httpPort);
    await composer?.bus.publish(PING_TOPIC, { n: 1 });
    await waitFor(() => pongs.length === 1);
    expect(pongs).toEqual([2]);
    for (const s of group.services) expect((await get(s.httpPort, "/ready")).status).toBe(200);
  });

  it("shuts every service down in the order given", async () => {
    const group = await pipeline(() => Outcomes.ack());
    const result = await group.shutdown("signal SIGTERM");
    expect(result.exitCode).toBe(0);
    expect(result.steps).toEqual([
      "composer:consumers",
      "composer:transport",
      "composer:idempotency",
      "composer:http",
      "image-builder:consumers",
      "image-builder:transport",
      "image-builder:idempotency",
      "image-builder:http",
    ]);
    expect(await group.stopped).toBe(result);
  });

  it("installs one set of signal handlers for the whole group", async () => {
    const signals = new EventEmitter();
    const exitCodeBefore = process.exitCode;
    const group = await runServices(
      [
        defineService({ name: "composer", bindings: [], handle: () => Promise.resolve() }),
        defineService({ name: "publisher", bindings: [], handle: () => Promise.resolve() }),
      ],
      { logDestination: quiet, processMetrics: false, handleSignals: true, signalSource: signals, config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 } } } },
    );
    expect(signals.listenerCount("SIGINT")).toBe(1);
    signals.emit("SIGINT", "SIGINT");
    const result = await group.stopped;
    await new Promise((r) => setImmediate(r));
    process.exitCode = exitCodeBefore;
    expect(result.reason).toBe("signal SIGINT");
    expect(result.steps.filter((s) => s.endsWith(":http"))).toEqual(["composer:http", "publisher:http"]);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  it("stops the whole group when one service halts, with its exit code", async () => {
    const group = await pipeline(() => Outcomes.halt("broken", { exitCode: 13 }));
    groups.push(group);
    await group.services[0]?.bus.publish(PING_TOPIC, { n: 1 });
    const result = await group.stopped;
    expect(result.exitCode).toBe(13);
    expect(result.reason).toContain("image-builder stopped");
    for (const s of group.services) expect(s.state().ready).toBe(false);
  });
});
