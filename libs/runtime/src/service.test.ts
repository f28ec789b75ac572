import { MemoryBroker, MemoryIdempotencyStore, MemoryTransport, Outcomes } from "@atomic-ci/bus";
import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { defineService } from "./definition.js";
import { ExitCode, ServiceStartError } from "./exit-codes.js";
import { runService, type RunOptions, type ServiceHandle } from "./service.js";
import { gate, get, PING_TOPIC, pingRegistry, waitFor } from "./testing.js";

const quiet = new Writable({ write: (_chunk, _enc, done) => done() });

/** Config every test service gets: a free port on loopback, no process metrics noise. */
function options(extra: RunOptions = {}): RunOptions {
  return {
    registry: pingRegistry(),
    logDestination: quiet,
    processMetrics: false,
    ...extra,
    config: { env: {}, ...extra.config, overrides: { http: { host: "127.0.0.1", port: 0 }, ...extra.config?.overrides } },
  };
}

/** The real memory transport and store, recording when they are closed. */
class RecordingTransport extends MemoryTransport {
  constructor(
    private readonly events: string[],
    broker: MemoryBroker,
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {
    super(broker);
  }
  override async close(): Promise<void> {
    this.events.push("transport.close");
    await this.onClose();
    return super.close();
  }
}

class RecordingStore extends MemoryIdempotencyStore {
  constructor(private readonly events: string[]) {
    super();
  }
  override close(): Promise<void> {
    this.events.push("idempotency.close");
    return super.close();
  }
}

describe("runService", () => {
  const handles: ServiceHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.shutdown("test over");
  });

  it("starts from config, consumes its bindings and reports ready", async () => {
    const seen: number[] = [];
    const service = defineService({
      name: "composer",
      bindings: ["org.atomic-ci.dev.test.#"],
      handle: (message) => {
        seen.push((message.body as { n: number }).n);
        return Promise.resolve();
      },
    });
    const handle = await runService({ ...service, ...options() });
    handles.push(handle);
    expect(handle.config.service).toBe("composer");
    expect(handle.config.bus.transport).toBe("memory");
    expect((await get(handle.httpPort, "/ready")).status).toBe(200);
    await handle.bus.publish(PING_TOPIC, { n: 7 });
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([7]);
  });

  it("is ready with nothing to consume when it has no bindings", async () => {
    const handle = await runService({ ...defineService({ name: "gatekeeper", bindings: [], handle: () => Promise.resolve() }), ...options() });
    handles.push(handle);
    const ready = await get(handle.httpPort, "/ready");
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ status: "OK", consuming: false });
    await handle.shutdown("done");
    expect(handle.state().ready).toBe(false);
  });

  it("shuts down in order: stop consuming, drain, own resources, transport, idempotency, http", async () => {
    const events: string[] = [];
    const held = gate();
    const broker = new MemoryBroker();
    let port = 0;
    let liveWhileTransportCloses = 0;
    const transport = new RecordingTransport(events, broker, async () => {
      liveWhileTransportCloses = (await get(port, "/live")).status;
    });
    const store = new RecordingStore(events);
    const handle = await runService({
      name: "publisher",
      bindings: ["#.test.ping"],
      ...options({ transport, idempotency: store }),
      async setup(ctx) {
        ctx.onShutdown("own", () => void events.push("own.close"));
        await ctx.consume(async () => {
          events.push("handler.start");
          await held.promise;
          events.push("handler.end");
        });
      },
    });
    port = handle.httpPort;
    await handle.bus.publish(PING_TOPIC, { n: 1 });
    await waitFor(() => events.includes("handler.start"));

    const stopping = handle.shutdown("test");
    // While the handler drains the service is not ready, but alive.
    await waitFor(async () => (await get(port, "/ready")).status === 503, 2000, "503 while draining");
    expect((await get(port, "/live")).status).toBe(200);
    expect(events).toEqual(["handler.start"]);
    held.open();
    const result = await stopping;

    expect(events).toEqual(["handler.start", "handler.end", "own.close", "transport.close", "idempotency.close"]);
    expect(result).toEqual({ reason: "test", exitCode: 0, timedOut: false, steps: ["consumers", "own", "transport", "idempotency", "http"] });
    expect(liveWhileTransportCloses).toBe(200);
    await expect(get(port, "/live")).rejects.toThrow();
    // The drained message was acked, not left for redelivery.
    expect(broker.peek("atomic-ci.publisher")).toHaveLength(0);
    expect(await handle.stopped).toBe(result);
    expect(await handle.shutdown("again")).toBe(result);
  });

  it("gives up after shutdownTimeoutMs with a non-zero exit code", async () => {
    const held = gate();
    let started = false;
    const handle = await runService({
      ...defineService({
        name: "image-builder",
        bindings: ["#.test.ping"],
        handle: async () => {
          started = true;
          await held.promise;
        },
      }),
      ...options({ config: { env: { ATOMIC_CI_SHUTDOWN_TIMEOUT_MS: "150" } } }),
    });
    await handle.bus.publish(PING_TOPIC, { n: 1 });
    await waitFor(() => started);
    const t0 = Date.now();
    const result = await handle.shutdown("test");
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(result).toMatchObject({ exitCode: ExitCode.SHUTDOWN_FAILED, timedOut: true, steps: [] });
    held.open();
  });

  it("shuts down with the exit code of a handler's halt", async () => {
    const handle = await runService({
      ...defineService({ name: "test-runner", bindings: ["#.test.ping"], handle: () => Promise.resolve(Outcomes.halt("disk full", { exitCode: 13 })) }),
      ...options(),
    });
    await handle.bus.publish(PING_TOPIC, { n: 1 });
    const result = await handle.stopped;
    expect(result.exitCode).toBe(13);
    expect(result.reason).toContain("disk full");
    expect(result.steps).toEqual(["consumers", "transport", "idempotency", "http"]);
  });

  it("shuts down on SIGTERM when asked to handle signals, then lets go of them", async () => {
    const signals = new EventEmitter();
    const exitCodeBefore = process.exitCode;
    const handle = await runService({
      ...defineService({ name: "composer", bindings: ["#.test.ping"], handle: () => Promise.resolve() }),
      ...options({ handleSignals: true, signalSource: signals }),
    });
    expect(signals.listenerCount("SIGTERM")).toBe(1);
    expect(signals.listenerCount("SIGINT")).toBe(1);
    signals.emit("SIGTERM", "SIGTERM");
    const result = await handle.stopped;
    expect(result).toMatchObject({ reason: "signal SIGTERM", exitCode: 0 });
    // The handler sets the exit code once shutdown resolved; give it that tick, then undo it.
    await new Promise((r) => setImmediate(r));
    expect(process.exitCode).toBe(0);
    process.exitCode = exitCodeBefore;
    expect(signals.listenerCount("SIGTERM")).toBe(0);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  it("fails to start with code 78 on bad config, naming the key", async () => {
    const err = await runService({ ...defineService({ name: "composer", bindings: [], handle: () => Promise.resolve() }), ...options({ config: { env: { ATOMIC_CI_BUS__PREFETCH: "ten" } } }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect((err as ServiceStartError).exitCode).toBe(ExitCode.CONFIG_ERROR);
    expect((err as Error).message).toContain("bus.prefetch (env ATOMIC_CI_BUS__PREFETCH)");
  });

  it("fails to start with code 14 when Redis cannot be reached", async () => {
    const err = await runService({
      ...defineService({ name: "composer", bindings: [], handle: () => Promise.resolve() }),
      ...options({ config: { env: { REDIS_URL: "redis://127.0.0.1:1" } } }),
    }).catch((e: unknown) => e);
    expect((err as ServiceStartError).exitCode).toBe(ExitCode.CONNECTION_ERROR);
  });

  it("closes what it opened when setup fails, and exits 11", async () => {
    const events: string[] = [];
    const transport = new RecordingTransport(events, new MemoryBroker());
    const err = await runService({
      name: "composer",
      ...options({ transport, idempotency: new RecordingStore(events) }),
      async setup(ctx) {
        await ctx.consume(() => Promise.resolve(), { bindings: ["#"] });
        throw new Error("cannot open the repo");
      },
    }).catch((e: unknown) => e);
    expect((err as ServiceStartError).exitCode).toBe(ExitCode.UNEXPECTED_ERROR);
    expect((err as Error).message).toContain("cannot open the repo");
    expect(events).toEqual(["transport.close", "idempotency.close"]);
    expect(transport.isConnected()).toBe(false);
  });
});
