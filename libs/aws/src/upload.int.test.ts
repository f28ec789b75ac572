// The real AWS SDK v3 clients against the local stand-in (s3rver + the EC2 responder): a real
// streamOptimized VMDK from qemu-img is uploaded in parts, imported, registered and copied.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeImportSnapshotTasksCommand, EC2Client, ImportSnapshotCommand } from "@aws-sdk/client-ec2";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsError, isAwsError } from "./errors.js";
import { makeTestDisk, STAND_IN_CREDENTIALS, startAwsStandIn, type AwsStandIn } from "./testing/index.js";
import { AwsUploader, type UploadVmdkOptions } from "./upload.js";

let dir: string;
let standIn: AwsStandIn;
let vmdk: string;
let sha256: string;
const env = { PATH: process.env["PATH"] };
const COMMIT = "3a".repeat(32);

const build = (over: Partial<UploadVmdkOptions> = {}): UploadVmdkOptions => ({
  file: vmdk,
  sha256,
  name: "fedora-atomic-host",
  buildId: "41.20261126.dev.0",
  basearch: "x86_64",
  commit: COMMIT,
  ...over,
});

const callsSince = (from: number) => standIn.ec2.calls.slice(from).map((c) => `${c.region}:${c.action}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-aws-"));
  standIn = await startAwsStandIn({ directory: join(dir, "s3"), importPolls: 3, imagePolls: 1 });
  // 12 MiB of random bytes: the vmdk stays ~12 MiB, three 5 MiB parts.
  vmdk = await makeTestDisk(dir, "disk", { sizeMiB: 64, randomMiB: 12 }, env);
  sha256 = createHash("sha256").update(await readFile(vmdk)).digest("hex");
}, 120_000);

afterAll(async () => {
  await standIn.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("AwsUploader against the stand-in", () => {
  let first: Awaited<ReturnType<AwsUploader["uploadVmdk"]>>;

  it("uploads in parts, imports, registers in the home region and copies to another: coreos-assembler's amis", async () => {
    const uploader = new AwsUploader(standIn.settings({ region: "us-east-1", regions: ["eu-west-1"], partSizeBytes: 5 * 1024 * 1024 }));
    const steps: string[] = [];
    try {
      first = await uploader.uploadVmdk(build({ onProgress: (step) => steps.push(step) }));
    } finally {
      uploader.close();
    }
    expect(first).toMatchObject({ name: "fedora-atomic-host-41.20261126.dev.0-x86_64-3a3a3a3a3a3a", uploaded: true, parts: 3, imported: true, copied: ["eu-west-1"] });
    expect(steps).toEqual(["s3-upload", "import-snapshot", "register-image", "copy-image"]);
    expect(first.amis.map((a) => a.name)).toEqual(["us-east-1", "eu-west-1"]);
    for (const ami of first.amis) {
      expect(ami.hvm).toMatch(/^ami-[0-9a-f]{17}$/);
      expect(ami.snapshot).toMatch(/^snap-[0-9a-f]{17}$/);
      const [image] = standIn.ec2.images(ami.name);
      expect(image).toMatchObject({ id: ami.hvm, snapshotId: ami.snapshot, state: "available", name: first.name, virtualizationType: "hvm", enaSupport: true, architecture: "x86_64", rootDeviceName: "/dev/xvda", volumeSize: 1, volumeType: "gp3" });
      expect(Object.fromEntries(image?.tags ?? [])).toEqual({ Name: first.name, "atomic-ci:build": "41.20261126.dev.0", "atomic-ci:commit": COMMIT, "atomic-ci:vmdk-sha256": sha256 });
      const snapshot = standIn.ec2.snapshots(ami.name).find((s) => s.id === ami.snapshot);
      expect(snapshot?.tags.get("atomic-ci:commit")).toBe(COMMIT);
    }
    expect(standIn.ec2.images("eu-west-1")[0]?.sourceImage).toBe(`us-east-1/${first.amis[0]?.hvm ?? ""}`);
    // The object is the file, byte for byte, with its sha256 as metadata.
    const head = await standIn.s3.send(new HeadObjectCommand({ Bucket: first.bucket, Key: first.key }));
    expect(head.Metadata?.["sha256"]).toBe(sha256);
    const body = await (await standIn.s3.send(new GetObjectCommand({ Bucket: first.bucket, Key: first.key }))).Body?.transformToByteArray();
    expect(createHash("sha256").update(body ?? new Uint8Array()).digest("hex")).toBe(sha256);
    expect(first.key).toBe(`atomic-ci/images/${COMMIT}/disk.vmdk`);
    const [task] = standIn.ec2.importTasks("us-east-1");
    expect(task).toMatchObject({ status: "completed", format: "VMDK", bucket: "atomic-ci-images", key: first.key, diskImageSize: head.ContentLength });
  });

  it("a second run finds the AMIs by name: no upload, no import, no register, no copy", async () => {
    const from = standIn.ec2.calls.length;
    const uploader = new AwsUploader(standIn.settings({ region: "us-east-1", regions: ["eu-west-1"] }));
    const again = await uploader.uploadVmdk(build()).finally(() => uploader.close());
    expect(again).toMatchObject({ uploaded: false, parts: 0, imported: false, copied: [], amis: first.amis });
    expect(callsSince(from).filter((c) => !/DescribeImages|CreateTags/.test(c))).toEqual([]);
    expect(standIn.ec2.importTasks("us-east-1")).toHaveLength(1);
  });

  it("a region added later is copied to; the others are found", async () => {
    const uploader = new AwsUploader(standIn.settings({ region: "us-east-1", regions: ["eu-west-1", "ap-southeast-2"] }));
    const more = await uploader.uploadVmdk(build()).finally(() => uploader.close());
    expect(more.copied).toEqual(["ap-southeast-2"]);
    expect(more.amis.slice(0, 2)).toEqual(first.amis);
    expect(more.amis.map((a) => a.name)).toEqual(["us-east-1", "eu-west-1", "ap-southeast-2"]);
  });

  it("an import task that ends deleted is an IMPORT_FAILED error with EC2's status message, not worth retrying", async () => {
    standIn.ec2.failNextImport();
    const uploader = new AwsUploader(standIn.settings());
    const err = await uploader.uploadVmdk(build({ commit: "4b".repeat(32) })).finally(() => uploader.close()).catch((e: unknown) => e);
    expect(isAwsError(err, "IMPORT_FAILED")).toBe(true);
    expect((err as AwsError).retryable).toBe(false);
    expect((err as AwsError).message).toMatch(/^import task import-snap-[0-9a-f]{17} in us-east-1 deleted: ClientError: Disk validation failed \[Unsupported VMDK File Format\]$/);
    expect(standIn.ec2.images("us-east-1").filter((i) => i.name.endsWith("4b4b4b4b4b4b"))).toEqual([]);
    // The next run gets the dead task back for its ClientToken, and starts a new import.
    const retry = new AwsUploader(standIn.settings());
    const ok = await retry.uploadVmdk(build({ commit: "4b".repeat(32) })).finally(() => retry.close());
    expect(ok).toMatchObject({ uploaded: false, imported: true });
    expect(standIn.ec2.importTasks("us-east-1").filter((t) => t.key.includes("4b".repeat(32))).map((t) => t.status)).toEqual(["deleted", "completed"]);
  });

  it("a file that is no streamOptimized VMDK is refused before anything is uploaded", async () => {
    const sparse = await makeTestDisk(dir, "sparse", { sizeMiB: 2, subformat: "monolithicSparse" }, env);
    const uploader = new AwsUploader(standIn.settings());
    const from = standIn.ec2.calls.length;
    const err = await uploader.uploadVmdk(build({ file: sparse, commit: "5c".repeat(32) })).finally(() => uploader.close()).catch((e: unknown) => e);
    expect(isAwsError(err, "NOT_STREAM_OPTIMIZED")).toBe(true);
    expect(callsSince(from)).toEqual(["us-east-1:DescribeImages"]);
  });

  it("throttling is retried by the SDK; when it persists it is a retryable error naming RequestLimitExceeded", async () => {
    const uploader = new AwsUploader(standIn.settings({ maxAttempts: 3 }));
    try {
      standIn.ec2.inject({ action: "DescribeImages", code: "RequestLimitExceeded", status: 503, message: "Request limit exceeded.", times: 2 });
      const ok = await uploader.uploadVmdk(build());
      expect(ok.amis[0]).toEqual(first.amis[0]);
      standIn.ec2.inject({ action: "DescribeImages", code: "RequestLimitExceeded", status: 503, message: "Request limit exceeded.", times: 3 });
      const err = await uploader.uploadVmdk(build()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AwsError);
      expect(err).toMatchObject({ code: "AWS_REQUEST_FAILED", awsCode: "RequestLimitExceeded", httpStatus: 503, retryable: true, region: "us-east-1" });
    } finally {
      uploader.close();
    }
  });

  it("an import that outlives importTimeoutMs is a retryable timeout; the next run resumes the same task (ClientToken)", async () => {
    const commit = "6d".repeat(32);
    const slow = new AwsUploader(standIn.settings({ importTimeoutMs: 1, pollIntervalMs: 1 }));
    const err = await slow.uploadVmdk(build({ commit })).finally(() => slow.close()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "IMPORT_TIMEOUT", retryable: true });
    const tasks = () => standIn.ec2.importTasks("us-east-1").filter((t) => t.key.includes(commit));
    expect(tasks()).toHaveLength(1);
    const uploader = new AwsUploader(standIn.settings());
    const done = await uploader.uploadVmdk(build({ commit })).finally(() => uploader.close());
    expect(done).toMatchObject({ uploaded: false, imported: true });
    expect(tasks()).toHaveLength(1);
    expect(tasks()[0]?.status).toBe("completed");
  });

  it("the stand-in's import reads the object back: a missing object or a VMDK that is not streamOptimized ends the task deleted", async () => {
    const ec2 = new EC2Client({ region: "eu-central-1", endpoint: standIn.ec2Endpoint, credentials: { ...STAND_IN_CREDENTIALS } });
    try {
      const sparse = await makeTestDisk(dir, "sparse2", { sizeMiB: 2, subformat: "monolithicSparse" }, env);
      await standIn.s3.send(new PutObjectCommand({ Bucket: "atomic-ci-images", Key: "raw/sparse.vmdk", Body: await readFile(sparse) }));
      const finalState = async (key: string) => {
        const { ImportTaskId } = await ec2.send(new ImportSnapshotCommand({ DiskContainer: { Format: "VMDK", UserBucket: { S3Bucket: "atomic-ci-images", S3Key: key } } }));
        for (let i = 0; i < 10; i++) {
          const out = await ec2.send(new DescribeImportSnapshotTasksCommand({ ImportTaskIds: [ImportTaskId ?? ""] }));
          const detail = out.ImportSnapshotTasks?.[0]?.SnapshotTaskDetail;
          if (detail?.Status !== "active") return detail;
        }
        return undefined;
      };
      expect(await finalState("raw/sparse.vmdk")).toMatchObject({ Status: "deleted", StatusMessage: 'ClientError: Disk validation failed [Unsupported VMDK File Format: createType is "monolithicSparse", not "streamOptimized"]' });
      expect((await finalState("raw/missing.vmdk"))?.StatusMessage).toMatch(/^ClientError: Disk validation failed \[We do not have access to the given resource\. Reason 404/);
      await standIn.s3.send(new PutObjectCommand({ Bucket: "atomic-ci-images", Key: "raw/good.vmdk", Body: await readFile(vmdk) }));
      expect(await finalState("raw/good.vmdk")).toMatchObject({ Status: "completed", Format: "VMDK", SnapshotId: expect.stringMatching(/^snap-/) as unknown });
    } finally {
      ec2.destroy();
    }
  });
});
