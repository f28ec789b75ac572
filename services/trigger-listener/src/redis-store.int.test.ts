import { Writable } from "node:stream";
import type { BusMessage } from "@atomic-ci/bus";
import type { ChangeSetIgnored, ChangeSetQueued } from "@atomic-ci/messages";
import { runService } from "@atomic-ci/runtime";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../../../test/support/index.js";
import { emptyState, type TriggerState } from "./core/types.js";
import { fixtureInput } from "./fixtures.test-helper.js";
import { delivery, listenerOn, recordingBus } from "./listener.test-helper.js";
import { createTriggerListenerService } from "./index.js";
import { RedisChangeSetStore } from "./redis-store.js";

const build = (name: string) => fixtureInput("buildsys.build.state.change.json", (b) => Object.assign(b, { new: 1, name, build_id: name.length }), `msg-${name}`);
const names = (members: { kind: string }[]) => members.map((m) => ("package" in m ? String(m.package) : m.kind));

describe("RedisChangeSetStore", () => {
  let client: Redis;
  let prefix: string;
  const owned: RedisChangeSetStore[] = [];

  beforeAll(async () => {
    client = new Redis(testServices().redisUrl);
    await client.ping();
    prefix = uniqueName("test-trigger-state");
  });

  afterAll(async () => {
    await Promise.all(owned.map((s) => s.close()));
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  /** A store with its own connection, as a separate replica (or a restarted process) has. */
  async function replica(key: string): Promise<RedisChangeSetStore> {
    const store = new RedisChangeSetStore({ url: testServices().redisUrl, key });
    owned.push(store);
    await store.connect();
    return store;
  }

  it("round trip: empty at version 0, then what was saved, with the version bumped", async () => {
    const key = `${prefix}:round-trip`;
    const store = new RedisChangeSetStore({ client, key });
    expect(await store.load()).toEqual({ state: emptyState(), version: 0 });
    const state: TriggerState = {
      queued: { "cs-0123456789abcdef": { members: [{ kind: "build", package: "bash", nvr: "bash-5.2.26-3.fc41", source_message_id: "m1", source_topic: "t" }], at: "2025-01-01T00:00:00.000Z" } },
      waiting: [],
      batch: { openedAt: "2025-01-01T00:00:00.000Z", changes: [{ members: [{ kind: "build", package: "glibc", nvr: "glibc-2.40-1.fc41", source_message_id: "m2", source_topic: "t" }], reason: "koji-build", dependsOn: [], arrivedAt: "2025-01-01T00:00:00.000Z" }] },
    };
    expect(await store.save(state, 0)).toBe(true);
    expect(await store.load()).toEqual({ state, version: 1 });
    expect(await client.hget(key, "version")).toBe("1");
    expect(JSON.parse((await client.hget(key, "state")) ?? "null")).toEqual(state);
    // A save on a version that is gone changes nothing.
    expect(await store.save(emptyState(), 0)).toBe(false);
    expect(await store.load()).toEqual({ state, version: 1 });
  });

  it("a corrupt document is an error naming the key", async () => {
    const key = `${prefix}:corrupt`;
    await client.hset(key, "version", "3", "state", '{"queued": []}');
    await expect(new RedisChangeSetStore({ client, key }).load()).rejects.toThrow(key);
  });

  it("two replicas updating at once: the second save is refused, and through the listeners both updates land", async () => {
    const key = `${prefix}:replicas`;
    const [one, two] = [await replica(key), await replica(key)];
    const a = await one.load();
    const b = await two.load();
    expect(await one.save({ ...a.state, waiting: [] }, a.version)).toBe(true);
    expect(await two.save(b.state, b.version)).toBe(false);

    // Two listeners, each on its own store and connection, decide on the same state.
    const bus = recordingBus();
    const opts = { host: ["bash", "glibc", "systemd"] };
    const [la, lb] = [listenerOn(one, bus, opts), listenerOn(two, bus, opts)];
    const release = bus.hold();
    const both = Promise.all([la.handle(...delivery(build("bash"))), lb.handle(...delivery(build("glibc")))]);
    await new Promise((r) => setTimeout(r, 50));
    release();
    await both;
    const queued = bus.published.filter((p) => p.topic.endsWith("change-set.queued")).map((p) => p.body as unknown as ChangeSetQueued);
    expect(queued.map((q) => names(q.members)).sort()).toEqual([["bash"], ["glibc"]]);
    const stored = await (await replica(key)).load();
    expect(Object.keys(stored.state.queued).sort()).toEqual(queued.map((q) => q.change_set_id).sort());
    expect(stored.version).toBe(3);

    // And more at once from both sides (new builds, so no duplicates): none lost.
    const more = ["systemd", "bash", "glibc"].map((n, i) => fixtureInput("buildsys.build.state.change.json", (m) => Object.assign(m, { new: 1, name: n, build_id: 100 + i, release: `${90 + i}.fc44` }), `more-${i}`));
    await Promise.all(more.map((input, i) => (i % 2 === 0 ? la : lb).handle(...delivery(input))));
    expect(Object.keys((await one.load()).state.queued)).toHaveLength(5);
    la.stop();
    lb.stop();
  });

  it("an open batching window survives a restart: a new store on the same key closes it and publishes the change set", async () => {
    const key = `${prefix}:restart`;
    const t0 = Date.parse("2025-01-01T00:00:00Z");
    let now = t0;
    const rules = { batchWindowMs: 60_000 };
    const before = recordingBus();
    const first = await replica(key);
    const old = listenerOn(first, before, { host: ["bash", "glibc"], rules, now: () => new Date(now) });
    await old.start();
    await old.handle(...delivery(build("bash")));
    now += 1_000;
    await old.handle(...delivery(build("glibc")));
    expect(before.published.filter((p) => p.topic.endsWith("queued"))).toEqual([]);
    // The process goes away with the window open.
    old.stop();
    await first.close();

    const after = recordingBus();
    const second = await replica(key);
    const { state } = await second.load();
    expect(state.batch?.openedAt).toBe(new Date(t0).toISOString());
    expect(state.batch?.changes.map((c) => names(c.members))).toEqual([["bash"], ["glibc"]]);
    now = t0 + 61_000;
    const restarted = listenerOn(second, after, { host: ["bash", "glibc"], rules, now: () => new Date(now) });
    await restarted.start();
    const queued = after.published.filter((p) => p.topic.endsWith("change-set.queued")).map((p) => p.body as unknown as ChangeSetQueued);
    expect(queued.map((q) => [q.reason, names(q.members)])).toEqual([["batch", ["bash", "glibc"]]]);
    expect((await second.load()).state.batch).toBeNull();
    restarted.stop();
  });

  it("the service keeps its state in Redis when redis.url is set: after a restart the same build is a duplicate", async () => {
    const stateKey = `${prefix}:service`;
    const quiet = new Writable({ write: (_c, _e, done) => done() });
    const input = (id: string) => fixtureInput("buildsys.build.state.change.json", (b) => Object.assign(b, { new: 1, name: "bash", build_id: 4 }), id);
    async function once(id: string): Promise<BusMessage[]> {
      const handle = await runService({
        ...createTriggerListenerService(),
        logDestination: quiet,
        processMetrics: false,
        config: { env: { REDIS_URL: testServices().redisUrl }, overrides: { http: { host: "127.0.0.1", port: 0 }, redis: { keyPrefix: `${prefix}:idem` }, triggerListener: { hostPackages: ["bash"], stateKey } } },
      });
      try {
        const seen: BusMessage[] = [];
        await handle.bus.consume({ queue: "test.collector", bindings: ["#.pipeline.change-set.#"], handler: (m) => Promise.resolve(void seen.push(m)) });
        const { topic, body } = input(id);
        await handle.bus.publish(topic.replace(/^org\.fedoraproject\.prod\./, ""), body, { topicPrefix: "org.fedoraproject.prod" });
        const deadline = Date.now() + 5000;
        while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        return seen;
      } finally {
        expect((await handle.shutdown("test over")).exitCode).toBe(0);
      }
    }
    const [queued] = await once("koji-1");
    expect(queued?.topic).toMatch(/change-set\.queued$/);
    const id = (queued?.body as ChangeSetQueued).change_set_id;
    expect(await client.hget(stateKey, "version")).toBe("1");
    // A new process (new store, new connection): Koji resends COMPLETE under a new message id.
    const [ignored] = await once("koji-2");
    expect(ignored?.body as ChangeSetIgnored).toMatchObject({ reason_code: "duplicate", change_set_id: id });
  });
});
