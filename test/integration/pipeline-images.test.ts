// trigger-listener + composer + image-builder on the in-memory bus, against the fixture world:
// a Koji build becomes a change set, a commit, then disk images whose checksums match the files.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryBroker } from "@atomic-ci/bus";
import { createComposerService } from "@atomic-ci/composer";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";
import { createImageBuilderService } from "@atomic-ci/image-builder";
import { pipelineTopic, watchBroker, type Seen, type Watcher } from "./watch.js";
import { buildFixtureWorld, findBuild, kojiBuildComplete, pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";

const run = promisify(execFile);
const WATCH = "test.pipeline-images-watch";

interface Artifact {
  path: string;
  sha256: string;
  size: number;
  uncompressed_sha256?: string;
  uncompressed_size?: number;
}

let world: FixtureWorld;
let dir: string;
let group: GroupHandle;
let listener: ServiceHandle;
const seen: Seen[] = [];
let broker: MemoryBroker;

let watcher: Watcher;
const waitFor = (match: (m: Seen) => boolean, timeoutMs = 120_000, from = 0): Promise<Seen> => watcher.waitFor(match, timeoutMs, from);

const topicIs = (topic: string, changeSet?: unknown) => (m: Seen) => m.topic === topic && (changeSet === undefined || m.body["change_set_id"] === changeSet);

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

beforeAll(async () => {
  world = await buildFixtureWorld();
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-pipeline-images-"));
  broker = new MemoryBroker();
  watcher = watchBroker(broker, WATCH, ["#.pipeline.#"], { topicOf: pipelineTopic, into: seen });
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  group = await runServices([createTriggerListenerService(), createComposerService({ env: process.env }), createImageBuilderService({ env: process.env })], {
    broker,
    logDestination: quiet,
    processMetrics: false,
    perService: pipelinePerService(world, dir, {
      // One delivery: an infrastructure error is reported at once instead of requeued.
      "image-builder": { bus: { maxDeliveries: 1 } },
    }),
  });
  const first = group.services[0];
  if (!first) throw new Error("trigger-listener did not start");
  listener = first;
}, 180_000);

afterAll(async () => {
  await group.shutdown("test done");
  await rm(dir, { recursive: true, force: true });
});

describe("a Koji build through trigger-listener, composer and image-builder", () => {
  let compose: Seen;
  let complete: Seen;

  it("is composed, then built into images: queued, progress per step, complete", async () => {
    const koji = kojiBuildComplete(findBuild(world, "ostree-2024.9-1.fc41"));
    await listener.bus.publish(koji.topic, koji.body, { topicPrefix: "org.fedoraproject.prod" });
    compose = await waitFor(topicIs("pipeline.compose.complete"));
    const id = compose.body["change_set_id"];
    complete = await waitFor(topicIs("pipeline.image.complete", id));
    const images = seen.filter((m) => m.topic.startsWith("pipeline.image.") && m.body["change_set_id"] === id);
    expect(images.map((m) => (m.topic === "pipeline.image.progress" ? `progress:${String(m.body["step"])}` : m.topic))).toEqual([
      "pipeline.image.queued",
      "progress:sysroot",
      "progress:disk",
      "progress:qcow2",
      "progress:vagrant-libvirt",
      "progress:aws-vmdk",
      "progress:meta",
      "pipeline.image.complete",
    ]);
    for (const m of images) {
      expect(m.headers["atomic_ci_change_set"]).toBe(id);
      expect(m.body).toMatchObject({ compose_id: compose.body["compose_id"], commit: compose.body["commit"], ref: compose.body["ref"] });
    }
    expect(images[0]?.body["formats"]).toEqual(["qcow2", "vagrant-libvirt", "aws-vmdk"]);
    expect(complete.body).toMatchObject({ os_version: compose.body["os_version"], reused: [] });
  });

  it("ships a qcow2 that qemu-img check finds clean, and every artifact's sha256 and size match its file and meta.json", async () => {
    const images = complete.body["images"] as Record<string, Artifact>;
    expect(Object.keys(images).sort()).toEqual(["aws-vmdk", "qcow2", "vagrant-libvirt"]);
    const qcow2 = images["qcow2"];
    if (!qcow2) throw new Error("no qcow2");
    expect(qcow2.path.startsWith(join(dir, "images", String(compose.body["commit"])))).toBe(true);
    await run("qemu-img", ["check", "-f", "qcow2", qcow2.path]);
    const info = JSON.parse((await run("qemu-img", ["info", "--output=json", qcow2.path])).stdout) as { format: string; "virtual-size": number };
    expect(info.format).toBe("qcow2");
    expect(info["virtual-size"]).toBe(qcow2.uncompressed_size);
    const metaPath = (complete.body["meta"] as { location: string }).location;
    const meta = JSON.parse(await readFile(metaPath, "utf8")) as { "ostree-commit": string; images: Record<string, { sha256: string; size: number }> };
    expect(meta["ostree-commit"]).toBe(compose.body["commit"]);
    for (const [format, artifact] of Object.entries(images)) {
      expect(await sha256(artifact.path)).toBe(artifact.sha256);
      expect((await stat(artifact.path)).size).toBe(artifact.size);
      expect(meta.images[format]).toMatchObject({ sha256: artifact.sha256, size: artifact.size });
    }
  });

  it("publishes complete again with the same paths when compose.complete is delivered again, building nothing", async () => {
    const before = seen.length;
    const images = complete.body["images"] as Record<string, Artifact>;
    const mtime = (await stat(images["qcow2"]?.path ?? "")).mtimeMs;
    await listener.bus.publish("pipeline.compose.complete", compose.body, { headers: { atomic_ci_change_set: String(compose.body["change_set_id"]) } });
    const again = await waitFor(topicIs("pipeline.image.complete", compose.body["change_set_id"]), 60_000, before);
    expect(again.body["images"]).toEqual(images);
    expect(again.body["meta"]).toEqual(complete.body["meta"]);
    expect((again.body["reused"] as string[]).sort()).toEqual(["aws-vmdk", "qcow2", "vagrant-libvirt"]);
    const steps = seen.slice(before).filter((m) => m.topic === "pipeline.image.progress").map((m) => m.body["step"]);
    expect(steps).toEqual(["meta"]);
    expect((await stat(images["qcow2"]?.path ?? "")).mtimeMs).toBe(mtime);
  });

  it("reports a commit the builder cannot fetch as an infrastructure error naming the step", async () => {
    const before = seen.length;
    // A commit of its own (the images of the real one exist and would simply be found).
    const body = { ...compose.body, change_set_id: "cs-00000000deadbeef", commit: "ab".repeat(32), repo: { location: join(dir, "no-such-repo") } };
    await listener.bus.publish("pipeline.compose.complete", body, { headers: { atomic_ci_change_set: "cs-00000000deadbeef" } });
    const error = await waitFor(topicIs("pipeline.image.error", "cs-00000000deadbeef"), 60_000, before);
    expect(error.body).toMatchObject({ kind: "infrastructure-error", step: "sysroot", commit: "ab".repeat(32) });
    expect(String(error.body["reason"])).toMatch(/no-such-repo|ostree/);
    expect(error.headers["atomic_ci_change_set"]).toBe("cs-00000000deadbeef");
  });
});
