import { Writable } from "node:stream";
import { createLogger, silentLogger, type Logger } from "@atomic-ci/telemetry";
import { describe, expect, it } from "vitest";
import { memoryBus, until } from "../testing.test-helper.js";
import { LeaseSweeper, type HeldClaim } from "./lease-sweeper.js";
import { MemoryIdempotencyStore } from "./memory.js";

/** The real memory store, counting the renewal rounds it is asked for. */
class CountingStore extends MemoryIdempotencyStore {
  readonly rounds: string[][] = [];
  override renewAll(scope: string, ids: readonly string[], leaseMs: number): Promise<boolean[]> {
    this.rounds.push([...ids]);
    return super.renewAll(scope, ids, leaseMs);
  }
}

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: "debug", service: "lease-test" }, sink);
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines };
}

function claimOf(id: string, logger: Logger = silentLogger()): HeldClaim {
  return { id, get: () => logger };
}

describe("LeaseSweeper", () => {
  it("renews every held claim in one store call per round, and runs its interval only while a claim is held", async () => {
    const store = new CountingStore();
    const sweeper = new LeaseSweeper(store, "q", 60_000, silentLogger());
    expect(sweeper.isRunning()).toBe(false);
    const claims = ["a", "b", "c"].map((id) => claimOf(id));
    for (const c of claims) {
      expect(await store.claim("q", c.id, 60_000)).toBe("claimed");
      sweeper.hold(c);
    }
    expect(sweeper.isRunning()).toBe(true);
    await sweeper.sweep();
    expect(store.rounds).toEqual([["a", "b", "c"]]);

    sweeper.release(claims[0] as HeldClaim);
    await sweeper.sweep();
    expect(store.rounds[1]).toEqual(["b", "c"]);
    sweeper.release(claims[1] as HeldClaim);
    expect(sweeper.isRunning()).toBe(true);
    sweeper.release(claims[2] as HeldClaim);
    expect(sweeper.isRunning()).toBe(false);
    expect(sweeper.size).toBe(0);
    await sweeper.sweep(); // nothing held: no round at all
    expect(store.rounds).toHaveLength(2);
  });

  it("keeps held claims alive over many leases, and lets them lapse once released", async () => {
    const store = new CountingStore();
    const lease = 150;
    const sweeper = new LeaseSweeper(store, "q", lease, silentLogger());
    const claims = ["a", "b"].map((id) => claimOf(id));
    for (const c of claims) {
      await store.claim("q", c.id, lease);
      sweeper.hold(c);
    }
    // Rounds come every lease/3: a dozen of them span about four leases.
    await until(() => store.rounds.length >= 12, 20_000, "a dozen renewal rounds");
    expect(await store.claim("q", "a", lease)).toBe("busy");
    expect(await store.claim("q", "b", lease)).toBe("busy");
    expect(store.rounds.every((r) => r.length === 2)).toBe(true);

    for (const c of claims) sweeper.release(c);
    expect(sweeper.isRunning()).toBe(false);
    // Nobody renews them now (as after a kill): each lapses within one lease.
    await until(async () => (await store.claim("q", "a", lease)) === "claimed", 5_000, "claim a lapsed");
    await until(async () => (await store.claim("q", "b", lease)) === "claimed", 5_000, "claim b lapsed");
  });

  it("reports, on the message's logger, a held claim that was found lapsed", async () => {
    const store = new MemoryIdempotencyStore();
    const { logger, lines } = capturingLogger();
    const sweeper = new LeaseSweeper(store, "q", 60_000, silentLogger());
    await store.claim("q", "alive", 60_000);
    sweeper.hold(claimOf("alive", logger.child({ message_id: "alive" })));
    sweeper.hold(claimOf("gone", logger.child({ message_id: "gone" }))); // never claimed, or lapsed
    await sweeper.sweep();
    const warnings = lines().filter((l) => l["level"] === "warn");
    expect(warnings.map((l) => l["message_id"])).toEqual(["gone"]);
    expect(String(warnings[0]?.["msg"])).toContain("lapsed");
    sweeper.stop();
    expect(sweeper.isRunning()).toBe(false);
  });
});

describe("Consumer claim renewal (memory store)", () => {
  it("keeps the claims of several long handlers alive with one sweeper, so their copies wait and are acked as duplicates", async () => {
    const { bus, metrics } = memoryBus();
    const handled: number[] = [];
    let open = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const consumer = await bus.consume({
      queue: "lease-q",
      bindings: ["#"],
      prefetch: 10,
      claimLeaseMs: 150,
      handler: async (m) => {
        handled.push((m.body as { n: number }).n);
        open += 1;
        await gate;
        open -= 1;
      },
    });
    expect(consumer.leases.isRunning()).toBe(false);
    const ids = ["m1", "m2", "m3"];
    for (const [n, id] of ids.entries()) await bus.publish("test.ping", { n }, { id });
    await until(() => open === 3, 5_000, "three handlers running");
    expect(consumer.leases.size).toBe(3);
    expect(consumer.leases.isRunning()).toBe(true);
    // A copy of each, while the originals run far longer than a lease.
    for (const [n, id] of ids.entries()) await bus.publish("test.ping", { n: n + 10 }, { id });
    const counter = async (name: "duplicates" | "requeued") => (await metrics[name].get()).values.reduce((sum, v) => sum + v.value, 0);
    await new Promise((r) => setTimeout(r, 1_000)); // ≈ 7 leases: unrenewed claims would have lapsed and the copies run
    expect(handled.sort((a, b) => a - b)).toEqual([0, 1, 2]);
    release();
    await until(async () => (await counter("duplicates")) === 3, 10_000, "the copies acked as duplicates");
    expect(handled).toHaveLength(3);
    expect(await counter("requeued")).toBe(0);
    await until(() => !consumer.leases.isRunning(), 5_000, "the sweeper stopped once nothing is in flight");
    await bus.close();
    expect(consumer.leases.isRunning()).toBe(false);
  });

  it("leaves no renewal timer behind after close drained a handler in flight", async () => {
    const { bus } = memoryBus();
    let started = false;
    const consumer = await bus.consume({
      queue: "lease-close",
      bindings: ["#"],
      claimLeaseMs: 150,
      handler: async () => {
        started = true;
        await new Promise((r) => setTimeout(r, 400));
      },
    });
    await bus.publish("test.ping", { n: 1 });
    await until(() => started, 5_000, "the handler started");
    expect(consumer.leases.isRunning()).toBe(true);
    await bus.close(); // waits for the handler
    expect(consumer.leases.isRunning()).toBe(false);
    expect(consumer.leases.size).toBe(0);
  });
});
