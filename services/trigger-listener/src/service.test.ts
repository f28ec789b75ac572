import { Writable } from "node:stream";
import type { BusMessage } from "@atomic-ci/bus";
import type { ChangeSetIgnored, ChangeSetQueued } from "@atomic-ci/messages";
import { runService, type ServiceHandle } from "@atomic-ci/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { fixtureInput } from "./fixtures.test-helper.js";
import { createTriggerListenerService, type TriggerListenerConfig } from "./index.js";

const REV_A = "a".repeat(40);
const REV_B = "b".repeat(40);
let handle: ServiceHandle<TriggerListenerConfig> | undefined;

afterEach(async () => {
  if (handle) expect((await handle.shutdown("test over")).exitCode).toBe(0);
  handle = undefined;
});

/** The service on the in-memory bus, plus a queue that collects what it emits. */
async function start(triggerListener: Record<string, unknown>) {
  handle = await runService({
    ...createTriggerListenerService(),
    logDestination: new Writable({ write: (_c, _e, done) => done() }),
    processMetrics: false,
    config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 }, triggerListener } },
  });
  const seen: BusMessage[] = [];
  await handle.bus.consume({ queue: "test.collector", bindings: ["#.pipeline.change-set.#"], handler: (m) => Promise.resolve(void seen.push(m)) });
  const bus = handle.bus;
  return {
    queued: () => seen.filter((m) => m.topic.endsWith(".queued")),
    ignored: () => seen.filter((m) => m.topic.endsWith(".ignored")).map((m) => m.body as ChangeSetIgnored),
    async send(file: string, edit: (b: Record<string, unknown>) => void = () => undefined) {
      const input = fixtureInput(file, edit);
      await bus.publish(input.topic.replace(/^org\.fedoraproject\.prod\./, ""), input.body, { topicPrefix: "org.fedoraproject.prod" });
    },
    async until(check: () => boolean, what: string) {
      const deadline = Date.now() + 5000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

const completeBuild = (name: string) => (b: Record<string, unknown>) => Object.assign(b, { new: 1, name, build_id: name.length });
const pushTo = (repo: string, rev: string, message = "update\n") => (b: Record<string, unknown>) =>
  Object.assign(b["commit"] as object, { repo, rev, branch: "f41", message, stats: { files: { [`${repo}.spec`]: {} }, total: {} } });
const members = (m: BusMessage | undefined) => (m?.body as ChangeSetQueued | undefined)?.members.map((x) => ("package" in x ? x.package : x.kind));

describe("trigger-listener on the in-memory bus", () => {
  it("a COMPLETE host build → one change set with its id in the header; the same build again → still one; a stranger → not-in-host", async () => {
    const t = await start({ hostPackages: ["prusa-slicer"] });
    await t.send("buildsys.build.state.change.json", completeBuild("prusa-slicer"));
    await t.send("buildsys.build.state.change.json", completeBuild("prusa-slicer"));
    await t.send("buildsys.build.state.change.json", completeBuild("cowsay"));
    await t.until(() => t.ignored().length === 2, "two ignored");
    expect(t.queued()).toHaveLength(1);
    const [cs] = t.queued();
    expect(cs?.headers["atomic_ci_change_set"]).toBe((cs?.body as ChangeSetQueued).change_set_id);
    expect(cs?.headers["fedora_messaging_rpm_prusa-slicer"]).toBe(true);
    expect(t.ignored().map((i) => [i.reason_code, i.package])).toEqual([["duplicate", "prusa-slicer"], ["not-in-host", "cowsay"]]);
  });

  it("a bodhi update with two host builds → one change set with both", async () => {
    const t = await start({ hostPackages: ["annobin", "binutils"], branch: "f39" });
    await t.send("bodhi.update.status.testing.koji-build-group.build.complete.json", (b) => {
      const artifact = b["artifact"] as { builds: Record<string, unknown>[] };
      artifact.builds.push({ ...artifact.builds[0], component: "binutils", nvr: "binutils-2.40-9.fc39", id: 7 });
    });
    await t.until(() => t.queued().length === 1, "a change set");
    expect(members(t.queued()[0])).toEqual(["annobin", "binutils"]);
  });

  it("two pushes linked by Depends-On → one change set", async () => {
    const t = await start({ hostPackages: ["bash", "glibc"] });
    await t.send("git.receive.json", pushTo("bash", REV_A, `x\n\nDepends-On: https://src.fedoraproject.org/rpms/glibc/c/${REV_B}\n`));
    await t.send("git.receive.json", pushTo("glibc", REV_B));
    await t.until(() => t.queued().length === 1, "a change set");
    expect(members(t.queued()[0])).toEqual(["bash", "glibc"]);
  });

  it("the batching window merges two unrelated builds", async () => {
    const t = await start({ hostPackages: ["bash", "glibc"], batchWindowMs: 300 });
    await t.send("buildsys.build.state.change.json", completeBuild("bash"));
    await t.send("buildsys.build.state.change.json", completeBuild("glibc"));
    await t.until(() => t.queued().length === 1, "the window to close");
    expect((t.queued()[0]?.body as ChangeSetQueued).reason).toBe("batch");
    expect(members(t.queued()[0])).toEqual(["bash", "glibc"]);
  });
});
