// trigger-listener + composer + image-builder on the in-memory bus, against the fixture world:
// a Koji build becomes a change set, a commit, then disk images whose checksums match the files.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageBuilderService } from "@atomic-ci/image-builder";
import type { ServiceHandle } from "@atomic-ci/runtime";
import { pipelineTopic, startPipelineRun, type PipelineRun, type Seen } from "./pipeline-support.js";
import { findBuild, kojiBuildComplete, type FixtureWorld } from "../fixture-world/src/index.js";

const run = promisify(execFile);

interface Artifact {
  path: string;
  sha256: string;
  size: number;
  uncompressed_sha256?: string;
  uncompressed_size?: number;
}

let pipeline: PipelineRun;
let world: FixtureWorld;
let dir: string;
let listener: ServiceHandle;
let seen: Seen[];

const waitFor = (match: (m: Seen) => boolean, timeoutMs = 120_000, from = 0): Promise<Seen> => pipeline.waitFor(match, timeoutMs, from);

const topicIs = (topic: string, changeSet?: unknown) => (m: Seen) => m.topic === topic && (changeSet === undefined || m.body["change_set_id"] === changeSet);

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

beforeAll(async () => {
  pipeline = await startPipelineRun({
    name: "pipeline-images",
    services: [createImageBuilderService({ env: process.env })],
    topicOf: pipelineTopic,
    // One delivery: an infrastructure error is reported at once instead of requeued.
    overrides: { "image-builder": { bus: { maxDeliveries: 1 } } },
  });
  ({ world, dir, listener, seen } = pipeline);
}, 180_000);

afterAll(() => pipeline.stop());

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
    const body = { ...compose.body, change_set_id: "cs-00000000deadbeef", commit: "ab".repeat(32), repo: { location: join(dir, "repo", "no-such-repo") } };
    await listener.bus.publish("pipeline.compose.complete", body, { headers: { atomic_ci_change_set: "cs-00000000deadbeef" } });
    const error = await waitFor(topicIs("pipeline.image.error", "cs-00000000deadbeef"), 60_000, before);
    expect(error.body).toMatchObject({ kind: "infrastructure-error", step: "sysroot", commit: "ab".repeat(32) });
    expect(String(error.body["reason"])).toMatch(/no-such-repo|ostree/);
    expect(error.headers["atomic_ci_change_set"]).toBe("cs-00000000deadbeef");
  });
});
