// trigger-listener + composer + image-builder with imageBuilder.aws enabled, against the fixture
// world and the local AWS stand-in (s3rver + the EC2 responder of @atomic-ci/aws/testing): the
// aws-vmdk image becomes AMIs in two regions, recorded in meta.json before image.complete.
import { readFile, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STAND_IN_CREDENTIALS, startAwsStandIn, type AwsStandIn } from "@atomic-ci/aws/testing";
import { AMIS_FILE, createImageBuilderService } from "@atomic-ci/image-builder";
import type { ServiceHandle } from "@atomic-ci/runtime";
import { pipelineDir, pipelineTopic, startPipelineRun, type PipelineRun, type Seen, type Watcher } from "./pipeline-support.js";
import { findBuild, kojiBuildComplete, type FixtureWorld } from "../fixture-world/src/index.js";

const NAME = "pipeline-images-aws";

interface Meta {
  "ostree-commit": string;
  images: Record<string, { path: string; sha256: string }>;
  amis?: { name: string; hvm: string; snapshot: string }[];
}

let pipeline: PipelineRun;
let world: FixtureWorld;
let standIn: AwsStandIn;
let listener: ServiceHandle;
let seen: Seen[];
let watcher: Watcher;
const logLines: string[] = [];
const waitFor = (match: (m: Seen) => boolean, timeoutMs = 120_000, from = 0): Promise<Seen> => watcher.waitFor(match, timeoutMs, from);
const topicIs = (topic: string, changeSet?: unknown) => (m: Seen) => m.topic === topic && (changeSet === undefined || m.body["change_set_id"] === changeSet);
const readMeta = async (path: string) => JSON.parse(await readFile(path, "utf8")) as Meta;

beforeAll(async () => {
  // The stand-in keeps its objects under the run's directory: made first.
  const dir = await pipelineDir(NAME);
  standIn = await startAwsStandIn({ directory: join(dir, "s3"), importPolls: 3, imagePolls: 1 });
  const logs = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      logLines.push(chunk.toString("utf8"));
      done();
    },
  });
  pipeline = await startPipelineRun({
    name: NAME,
    dir,
    services: [createImageBuilderService({ env: process.env })],
    topicOf: pipelineTopic,
    logDestination: logs,
    overrides: {
      "image-builder": {
        bus: { maxDeliveries: 3 },
        imageBuilder: { aws: standIn.config({ region: "us-east-1", regions: ["eu-west-1"] }) },
      },
    },
  });
  ({ world, listener, seen, watcher } = pipeline);
}, 180_000);

afterAll(() => pipeline.stop(() => standIn.stop()));

describe("image-builder with imageBuilder.aws enabled", () => {
  let compose: Seen;
  let complete: Seen;
  let metaPath: string;
  const redeliver = () => listener.bus.publish("pipeline.compose.complete", compose.body, { headers: { atomic_ci_change_set: String(compose.body["change_set_id"]) } });

  it("uploads the vmdk, imports it, registers and copies the AMI, and writes amis into meta.json before image.complete", async () => {
    const koji = kojiBuildComplete(findBuild(world, "ostree-2024.9-1.fc41"));
    await listener.bus.publish(koji.topic, koji.body, { topicPrefix: "org.fedoraproject.prod" });
    compose = await waitFor(topicIs("pipeline.compose.complete"));
    const id = compose.body["change_set_id"];
    complete = await waitFor(topicIs("pipeline.image.complete", id));
    const steps = seen.filter((m) => m.topic === "pipeline.image.progress" && m.body["change_set_id"] === id).map((m) => m.body["step"]);
    expect(steps).toEqual(["sysroot", "disk", "qcow2", "vagrant-libvirt", "aws-vmdk", "meta", "aws-upload"]);

    metaPath = (complete.body["meta"] as { location: string }).location;
    const meta = await readMeta(metaPath);
    expect(meta["ostree-commit"]).toBe(compose.body["commit"]);
    expect(meta.amis?.map((a) => a.name)).toEqual(["us-east-1", "eu-west-1"]);
    for (const ami of meta.amis ?? []) {
      const image = standIn.ec2.images(ami.name).find((i) => i.id === ami.hvm);
      expect(image).toMatchObject({ state: "available", snapshotId: ami.snapshot, virtualizationType: "hvm", enaSupport: true });
      expect(image?.name).toContain(String(compose.body["commit"]).slice(0, 12));
      expect(image?.tags.get("atomic-ci:vmdk-sha256")).toBe(meta.images["aws-vmdk"]?.sha256);
    }
    // The import read the object the builder uploaded: the vmdk of meta.json.
    const [task] = standIn.ec2.importTasks("us-east-1");
    expect(task?.status).toBe("completed");
    expect(task?.diskImageSize).toBe((await stat(join(dirname(metaPath), meta.images["aws-vmdk"]?.path ?? ""))).size);
    const record = JSON.parse(await readFile(join(dirname(metaPath), AMIS_FILE), "utf8")) as { amis: unknown };
    expect(record.amis).toEqual(meta.amis);
  });

  it("a redelivered compose.complete calls no AWS API and keeps amis in meta.json", async () => {
    const before = seen.length;
    const calls = standIn.ec2.calls.length;
    const amis = (await readMeta(metaPath)).amis;
    await redeliver();
    const again = await waitFor(topicIs("pipeline.image.complete", compose.body["change_set_id"]), 60_000, before);
    expect(again.body["meta"]).toEqual(complete.body["meta"]);
    expect(seen.slice(before).filter((m) => m.topic === "pipeline.image.progress").map((m) => m.body["step"])).toEqual(["meta"]);
    expect(standIn.ec2.calls.length).toBe(calls);
    expect((await readMeta(metaPath)).amis).toEqual(amis);
  });

  it("AWS throttling past the SDK's retries requeues the compose; the next delivery completes", async () => {
    await rm(join(dirname(metaPath), AMIS_FILE));
    const amis = (await readMeta(metaPath)).amis;
    const before = seen.length;
    const calls = standIn.ec2.calls.length;
    // maxAttempts 2 per request: two throttled answers fail the first delivery's first DescribeImages.
    standIn.ec2.inject({ action: "DescribeImages", code: "RequestLimitExceeded", status: 503, message: "Request limit exceeded.", times: 2 });
    await redeliver();
    const again = await waitFor(topicIs("pipeline.image.complete", compose.body["change_set_id"]), 60_000, before);
    expect(seen.slice(before).some((m) => m.topic === "pipeline.image.error")).toBe(false);
    // Two deliveries: queued twice; the second found the AMIs by name (no import, no copy).
    expect(seen.slice(before).filter((m) => m.topic === "pipeline.image.queued")).toHaveLength(2);
    const actions = standIn.ec2.calls.slice(calls).map((c) => c.action);
    expect(actions.filter((a) => a === "ImportSnapshot" || a === "RegisterImage" || a === "CopyImage")).toEqual([]);
    expect(actions.slice(0, 2)).toEqual(["DescribeImages", "DescribeImages"]);
    expect(again.body["meta"]).toEqual(complete.body["meta"]);
    expect((await readMeta(metaPath)).amis).toEqual(amis);
  });

  it("an import task that ends deleted is reported at once as an infrastructure error of step aws-upload; no amis recorded", async () => {
    // A fresh account: nothing to find, so the build imports again - and the import fails.
    standIn.ec2.reset();
    await rm(join(dirname(metaPath), AMIS_FILE));
    standIn.ec2.failNextImport("ClientError: Disk validation failed [Unsupported VMDK File Format]");
    const before = seen.length;
    await redeliver();
    const error = await waitFor(topicIs("pipeline.image.error", compose.body["change_set_id"]), 60_000, before);
    expect(error.body).toMatchObject({ kind: "infrastructure-error", step: "aws-upload", commit: compose.body["commit"] });
    expect(String(error.body["reason"])).toMatch(/^import task import-snap-[0-9a-f]+ in us-east-1 deleted: ClientError: Disk validation failed \[Unsupported VMDK File Format\]$/);
    // Reported on the first delivery, not requeued.
    expect(seen.slice(before).filter((m) => m.topic === "pipeline.image.queued")).toHaveLength(1);
    expect(seen.slice(before).some((m) => m.topic === "pipeline.image.complete")).toBe(false);
    expect((await readMeta(metaPath)).amis).toBeUndefined();
  });

  it("the next delivery imports again and records the new AMIs", async () => {
    const before = seen.length;
    await redeliver();
    await waitFor(topicIs("pipeline.image.complete", compose.body["change_set_id"]), 60_000, before);
    const meta = await readMeta(metaPath);
    expect(meta.amis?.map((a) => [a.name, a.hvm])).toEqual(standIn.ec2.images("us-east-1").concat(standIn.ec2.images("eu-west-1")).map((i) => [i.region, i.id]));
    expect(standIn.ec2.importTasks("us-east-1").map((t) => t.status)).toEqual(["deleted", "completed"]);
  });

  it("logs what it did, never the credentials", () => {
    const text = logLines.join("");
    expect(text).toContain("AMIs recorded in meta.json");
    expect(text).toContain("<redacted>");
    expect(text).not.toContain(STAND_IN_CREDENTIALS.secretAccessKey);
  });
});
