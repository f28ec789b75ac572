import type { ChangeSetQueued } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import { fixtureInput } from "./fixtures.test-helper.js";
import { delivery, listenerOn, recordingBus } from "./listener.test-helper.js";
import { MemoryChangeSetStore, type ChangeSetStore } from "./store.js";

const build = (name: string) => fixtureInput("buildsys.build.state.change.json", (b) => Object.assign(b, { new: 1, name, build_id: name.length }), `msg-${name}`);

describe("two listeners on one store (replicas)", () => {
  it("both decide on the same state; the slower save is refused, decided again, and both changes land in the window", async () => {
    const store = new MemoryChangeSetStore();
    // Saves wait until released, so both listeners load version 0 before either saves.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const attempts: number[] = [];
    const gated: ChangeSetStore = {
      load: () => store.load(),
      save: async (state, expected) => {
        attempts.push(expected);
        await gate;
        return store.save(state, expected);
      },
      close: () => store.close(),
    };
    const bus = recordingBus();
    const opts = { host: ["bash", "glibc"], rules: { batchWindowMs: 60_000 } };
    const [a, b] = [listenerOn(gated, bus, opts), listenerOn(gated, bus, opts)];
    const both = Promise.all([a.handle(...delivery(build("bash"))), b.handle(...delivery(build("glibc")))]);
    await new Promise((r) => setTimeout(r, 20));
    expect(attempts).toEqual([0, 0]);
    release();
    await both;
    expect(attempts).toEqual([0, 0, 1]);
    const { state, version } = await store.load();
    expect(state.batch?.changes.map((c) => c.members.map((m) => ("package" in m ? m.package : m.kind)))).toEqual([["bash"], ["glibc"]]);
    expect(version).toBe(2);
    a.stop();
    b.stop();
  });

  it("a change set published before a refused save is not published again on the retry", async () => {
    const store = new MemoryChangeSetStore();
    const bus = recordingBus();
    const [a, b] = [listenerOn(store, bus, { host: ["bash", "glibc"] }), listenerOn(store, bus, { host: ["bash", "glibc"] })];
    const release = bus.hold();
    const both = Promise.all([a.handle(...delivery(build("bash"))), b.handle(...delivery(build("glibc")))]);
    await new Promise((r) => setTimeout(r, 20));
    release();
    await both;
    const queued = bus.published.filter((p) => p.topic.endsWith("change-set.queued")).map((p) => p.body as unknown as ChangeSetQueued);
    expect(queued.map((q) => q.members.map((m) => ("package" in m ? m.package : m.kind))).sort()).toEqual([["bash"], ["glibc"]]);
    const { state } = await store.load();
    expect(Object.keys(state.queued).sort()).toEqual(queued.map((q) => q.change_set_id).sort());
  });

  it("the memory store refuses a save on a version it no longer has", async () => {
    const store = new MemoryChangeSetStore();
    const loaded = await store.load();
    expect(loaded.version).toBe(0);
    expect(await store.save({ ...loaded.state, waiting: [] }, 0)).toBe(true);
    expect(await store.save(loaded.state, 0)).toBe(false);
    expect((await store.load()).version).toBe(1);
  });
});
