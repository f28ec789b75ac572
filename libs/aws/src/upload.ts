// The AWS backend: a streamOptimized VMDK → S3 → ImportSnapshot → RegisterImage → CopyImage to
// further regions, returning coreos-assembler's `amis`. Every step first looks for what an earlier
// run left (the object with the same sha256, the import task by ClientToken, the AMI by name), so
// running it again for the same build imports nothing. The same code talks to AWS or to the
// stand-in in ./testing: only the endpoints differ.
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  CopyImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeImportSnapshotTasksCommand,
  EC2Client,
  ImportSnapshotCommand,
  RegisterImageCommand,
  type Image,
} from "@aws-sdk/client-ec2";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { AwsSettings } from "./config.js";
import { AwsError, describeSdkError, wrapSdkError } from "./errors.js";
import { amiName, buildTags, clientToken, ec2Architecture, nextDelay, objectKey, orderAmis, type Ami, type BuildIdentity } from "./plan.js";
import { inspectStreamOptimized } from "./vmdk.js";

export type AwsStep = "s3-upload" | "import-snapshot" | "register-image" | "copy-image";

export interface UploadVmdkOptions extends BuildIdentity {
  /** The streamOptimized VMDK (meta.json `images.aws-vmdk`). */
  file: string;
  /** Its sha256 (meta.json), the identity of the upload. */
  sha256: string;
  description?: string;
  onProgress?: (step: AwsStep, detail: string) => void;
  signal?: AbortSignal;
  /** This call's logger (e.g. the message handler's, with its change set); default the uploader's. */
  log?: AwsLog;
}

export interface UploadVmdkResult {
  name: string;
  /** Home region first, then the copies in configured order. */
  amis: Ami[];
  /** What this call did (false/empty: it found an earlier run's result). */
  uploaded: boolean;
  /** Parts the upload was sent in (1: a single PutObject; 0: nothing uploaded). */
  parts: number;
  imported: boolean;
  copied: string[];
  bucket: string;
  key: string;
  timings: Record<string, number>;
}

/** The slice of a pino logger the uploader writes to (ids and states only: never credentials). */
export interface AwsLog {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface AwsUploaderDeps {
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  log?: AwsLog;
}

const ROOT_DEVICE = "/dev/xvda";
/** Earlier failed imports of one build after which a run gives up without starting another. */
const MAX_FAILED_IMPORTS = 5;
const IMAGE_DONE = "available";
const IMAGE_BROKEN = new Set(["failed", "invalid", "error", "deregistered", "disabled"]);

const silent: AwsLog = { info: () => undefined, debug: () => undefined };

export class AwsUploader {
  private readonly s3: S3Client;
  private readonly ec2 = new Map<string, EC2Client>();
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly log: AwsLog;

  constructor(
    private readonly settings: AwsSettings,
    deps: AwsUploaderDeps = {},
  ) {
    if (settings.bucket === undefined) throw new AwsError("AWS_REQUEST_FAILED", "aws.bucket is not configured", { retryable: false });
    this.sleep = deps.sleep ?? ((ms, signal) => delay(ms, undefined, signal === undefined ? {} : { signal }));
    this.now = deps.now ?? (() => Date.now());
    this.log = deps.log ?? silent;
    this.s3 = new S3Client({
      region: settings.region,
      maxAttempts: settings.maxAttempts,
      ...this.credentials(),
      ...(settings.s3Endpoint === undefined ? {} : { endpoint: settings.s3Endpoint }),
      forcePathStyle: settings.forcePathStyle ?? settings.s3Endpoint !== undefined,
    });
  }

  /** Static credentials when configured; otherwise the SDK's default chain finds them. */
  private credentials(): { credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } } {
    const { accessKeyId, secretAccessKey, sessionToken } = this.settings;
    if (accessKeyId === undefined || secretAccessKey === undefined) return {};
    return { credentials: { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) } };
  }

  private ec2For(region: string): EC2Client {
    let client = this.ec2.get(region);
    if (!client) {
      client = new EC2Client({
        region,
        maxAttempts: this.settings.maxAttempts,
        ...this.credentials(),
        ...(this.settings.endpoint === undefined ? {} : { endpoint: this.settings.endpoint }),
      });
      this.ec2.set(region, client);
    }
    return client;
  }

  /** Closes the SDK clients' sockets. */
  close(): void {
    this.s3.destroy();
    for (const client of this.ec2.values()) client.destroy();
    this.ec2.clear();
  }

  async uploadVmdk(opts: UploadVmdkOptions): Promise<UploadVmdkResult> {
    const settings = this.settings;
    const bucket = settings.bucket ?? "";
    const home = settings.region;
    const name = amiName(opts);
    const key = objectKey(settings.prefix, opts.commit, basename(opts.file));
    const tags = buildTags(opts, name, opts.sha256);
    const description = opts.description ?? `${opts.name} ${opts.buildId} (${opts.basearch}, ostree ${opts.commit.slice(0, 12)})`;
    const progress = opts.onProgress ?? (() => undefined);
    const timings: Record<string, number> = {};
    const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
      const start = this.now();
      try {
        return await fn();
      } finally {
        timings[step] = (timings[step] ?? 0) + (this.now() - start);
      }
    };
    const result: UploadVmdkResult = { name, amis: [], uploaded: false, parts: 0, imported: false, copied: [], bucket, key, timings };

    let homeImage = await this.findImage(home, name);
    if (homeImage === undefined) {
      // What AWS would reject after the whole upload and a long import: check it here.
      await inspectStreamOptimized(opts.file).catch((err: unknown) => {
        throw new AwsError("NOT_STREAM_OPTIMIZED", err instanceof Error ? err.message : String(err), { retryable: false, cause: err });
      });
      result.parts = await timed("s3-upload", () => this.putObject(bucket, key, opts, progress));
      result.uploaded = result.parts > 0;
      const snapshot = await timed("import-snapshot", () => this.importSnapshot(bucket, key, name, description, opts, progress));
      result.imported = true;
      await this.tag(home, [snapshot], tags);
      progress("register-image", `${name} in ${home}`);
      homeImage = await timed("register-image", () => this.register(home, name, description, snapshot, opts));
    } else {
      (opts.log ?? this.log).info({ region: home, image: homeImage.ImageId, state: homeImage.State }, "AMI already registered");
    }
    const homeId = requireId(homeImage.ImageId, "ImageId", home);
    const available = await timed("register-image", () => this.waitAvailable(home, homeId, opts.signal));
    await this.tag(home, [homeId, rootSnapshot(available, home)], tags);
    const amis: Ami[] = [{ name: home, hvm: homeId, snapshot: rootSnapshot(available, home) }];

    for (const region of settings.regions) {
      let copy = await this.findImage(region, name);
      if (copy === undefined) {
        progress("copy-image", `${homeId} ${home} → ${region}`);
        const out = await this.call(region, "CopyImage", () =>
          this.ec2For(region).send(
            new CopyImageCommand({ SourceRegion: home, SourceImageId: homeId, Name: name, Description: description, ClientToken: clientToken("copy", name, opts.sha256, region) }),
            this.abortOptions(opts.signal),
          ),
        );
        copy = { ImageId: requireId(out.ImageId, "ImageId", region) };
        result.copied.push(region);
      }
      const copyId = requireId(copy.ImageId, "ImageId", region);
      const ready = await timed(`copy-image:${region}`, () => this.waitAvailable(region, copyId, opts.signal));
      const snap = rootSnapshot(ready, region);
      await this.tag(region, [copyId, snap], tags);
      amis.push({ name: region, hvm: copyId, snapshot: snap });
    }
    result.amis = orderAmis(amis, home, settings.regions);
    (opts.log ?? this.log).info({ name, amis: result.amis, uploaded: result.uploaded, imported: result.imported, copied: result.copied }, "AMIs ready");
    return result;
  }

  /** HeadObject first: an object of this sha256 from an earlier run is not uploaded again. Resolves to the parts sent. */
  private async putObject(bucket: string, key: string, opts: UploadVmdkOptions, progress: (step: AwsStep, detail: string) => void): Promise<number> {
    const region = this.settings.region;
    const existing = await this.s3
      .send(new HeadObjectCommand({ Bucket: bucket, Key: key }), this.abortOptions(opts.signal))
      .catch((err: unknown) => {
        const d = describeSdkError(err);
        if (d.httpStatus === 404 || d.awsCode === "NotFound" || d.awsCode === "NoSuchKey") return undefined;
        throw wrapSdkError(err, "HeadObject", region);
      });
    if (existing?.Metadata?.["sha256"] === opts.sha256) {
      (opts.log ?? this.log).info({ bucket, key }, "object already uploaded");
      progress("s3-upload", `s3://${bucket}/${key} already there`);
      return 0;
    }
    progress("s3-upload", `s3://${bucket}/${key}`);
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(opts.file), ContentType: "application/octet-stream", Metadata: { sha256: opts.sha256 } },
      partSize: this.settings.partSizeBytes,
      queueSize: 2,
      leavePartsOnError: false,
    });
    let parts = 0;
    upload.on("httpUploadProgress", (p) => {
      parts = Math.max(parts, p.part ?? 1);
    });
    const abort = () => void upload.abort();
    opts.signal?.addEventListener("abort", abort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      throw wrapSdkError(err, "S3 upload", region);
    } finally {
      opts.signal?.removeEventListener("abort", abort);
    }
    (opts.log ?? this.log).info({ bucket, key, parts }, "uploaded");
    return Math.max(parts, 1);
  }

  /** ImportSnapshot (the ClientToken finds a task an earlier run started) and wait for its snapshot. */
  private async importSnapshot(bucket: string, key: string, name: string, description: string, opts: UploadVmdkOptions, progress: (step: AwsStep, detail: string) => void): Promise<string> {
    const region = this.settings.region;
    const ec2 = this.ec2For(region);
    // The ClientToken returns the task an earlier run started. When that one ended `deleted`,
    // the token also names the failed task, so this run starts a new import instead of
    // getting the dead one back forever.
    const failed: string[] = [];
    let taskId: string;
    for (;;) {
      const started = await this.call(region, "ImportSnapshot", () =>
        ec2.send(
          new ImportSnapshotCommand({
            Description: description,
            DiskContainer: { Description: name, Format: "VMDK", UserBucket: { S3Bucket: bucket, S3Key: key } },
            ClientToken: clientToken("import", name, opts.sha256, ...failed),
          }),
          this.abortOptions(opts.signal),
        ),
      );
      taskId = requireId(started.ImportTaskId, "ImportTaskId", region);
      const status = started.SnapshotTaskDetail?.Status;
      if (status !== "deleted" && status !== "deleting") break;
      (opts.log ?? this.log).info({ region, task: taskId, message: started.SnapshotTaskDetail?.StatusMessage }, "an earlier import of this build failed; importing again");
      failed.push(taskId);
      if (failed.length >= MAX_FAILED_IMPORTS) {
        throw new AwsError("IMPORT_FAILED", `${failed.length} imports of s3://${bucket}/${key} in ${region} failed (${failed.join(", ")}); last: ${started.SnapshotTaskDetail?.StatusMessage ?? "(no status message)"}`, { retryable: false, region });
      }
    }
    progress("import-snapshot", `${taskId} from s3://${bucket}/${key}`);
    (opts.log ?? this.log).info({ region, task: taskId }, "import started");
    return this.poll<string>(`import task ${taskId} in ${region}`, this.settings.importTimeoutMs, "IMPORT_TIMEOUT", region, opts.signal, async () => {
      const out = await this.call(region, "DescribeImportSnapshotTasks", () =>
        ec2.send(new DescribeImportSnapshotTasksCommand({ ImportTaskIds: [taskId] }), this.abortOptions(opts.signal)),
      );
      const detail = out.ImportSnapshotTasks?.find((t) => t.ImportTaskId === taskId)?.SnapshotTaskDetail;
      if (!detail) throw new AwsError("UNEXPECTED_RESPONSE", `DescribeImportSnapshotTasks in ${region} does not know ${taskId}`, { retryable: true, region });
      const status = detail.Status ?? "";
      if (status === "completed") return { done: requireId(detail.SnapshotId, "SnapshotId", region) };
      if (status === "deleted" || status === "deleting") {
        throw new AwsError("IMPORT_FAILED", `import task ${taskId} in ${region} ${status}: ${detail.StatusMessage ?? "(no status message)"}`, { retryable: false, region });
      }
      (opts.log ?? this.log).debug({ region, task: taskId, status, progress: detail.Progress, message: detail.StatusMessage }, "import in progress");
      return { pending: `${status} ${detail.Progress ?? ""}% ${detail.StatusMessage ?? ""}`.trim() };
    });
  }

  private async register(region: string, name: string, description: string, snapshot: string, opts: UploadVmdkOptions): Promise<Image> {
    try {
      const out = await this.ec2For(region).send(
        new RegisterImageCommand({
          Name: name,
          Description: description,
          Architecture: ec2Architecture(opts.basearch),
          VirtualizationType: "hvm",
          EnaSupport: true,
          RootDeviceName: ROOT_DEVICE,
          BlockDeviceMappings: [{ DeviceName: ROOT_DEVICE, Ebs: { SnapshotId: snapshot, DeleteOnTermination: true, VolumeType: this.settings.volumeType } }],
        }),
        this.abortOptions(opts.signal),
      );
      return { ImageId: requireId(out.ImageId, "ImageId", region) };
    } catch (err) {
      // Another builder registered the same build between our lookup and now.
      if (describeSdkError(err).awsCode === "InvalidAMIName.Duplicate") {
        const found = await this.findImage(region, name);
        if (found) return found;
      }
      throw wrapSdkError(err, "RegisterImage", region);
    }
  }

  /** This account's AMI of that name in a region, if any (AMI names are unique per account and region). */
  private async findImage(region: string, name: string): Promise<Image | undefined> {
    const out = await this.call(region, "DescribeImages", () =>
      this.ec2For(region).send(new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "name", Values: [name] }] })),
    );
    return out.Images?.find((i) => i.Name === name);
  }

  private waitAvailable(region: string, imageId: string, signal: AbortSignal | undefined): Promise<Image> {
    return this.poll<Image>(`AMI ${imageId} in ${region}`, this.settings.copyTimeoutMs, "IMAGE_TIMEOUT", region, signal, async () => {
      const out = await this.call(region, "DescribeImages", () =>
        this.ec2For(region).send(new DescribeImagesCommand({ ImageIds: [imageId] }), this.abortOptions(signal)),
      );
      const image = out.Images?.find((i) => i.ImageId === imageId);
      // Right after RegisterImage/CopyImage, DescribeImages may not list the AMI yet (eventual consistency).
      if (!image) return { pending: "not listed yet" };
      const state = image.State ?? "";
      if (state === IMAGE_DONE) return { done: image };
      if (IMAGE_BROKEN.has(state)) {
        throw new AwsError("IMAGE_FAILED", `AMI ${imageId} in ${region} is ${state}: ${image.StateReason?.Message ?? image.StateReason?.Code ?? "(no reason given)"}`, { retryable: false, region });
      }
      return { pending: state };
    });
  }

  private async tag(region: string, resources: string[], tags: { Key: string; Value: string }[]): Promise<void> {
    await this.call(region, "CreateTags", () => this.ec2For(region).send(new CreateTagsCommand({ Resources: resources, Tags: tags })));
  }

  private async call<T>(region: string, operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrapSdkError(err, operation, region);
    }
  }

  private abortOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
    return signal === undefined ? {} : { abortSignal: signal };
  }

  /** Polls with growing waits (pollIntervalMs ×1.5 up to maxPollIntervalMs) until done or timeoutMs. */
  private async poll<T>(
    what: string,
    timeoutMs: number,
    code: "IMPORT_TIMEOUT" | "IMAGE_TIMEOUT",
    region: string,
    signal: AbortSignal | undefined,
    check: () => Promise<{ done: T } | { pending: string }>,
  ): Promise<T> {
    const deadline = this.now() + timeoutMs;
    let wait = this.settings.pollIntervalMs;
    for (;;) {
      const state = await check();
      if ("done" in state) return state.done;
      const left = deadline - this.now();
      if (left <= 0) throw new AwsError(code, `${what}: still ${state.pending || "pending"} after ${timeoutMs} ms`, { retryable: true, region });
      await this.sleep(Math.min(wait, left), signal);
      wait = nextDelay(wait, this.settings.maxPollIntervalMs);
    }
  }
}

function requireId(id: string | undefined, what: string, region: string): string {
  if (id === undefined || id === "") throw new AwsError("UNEXPECTED_RESPONSE", `the response in ${region} carries no ${what}`, { retryable: true, region });
  return id;
}

function rootSnapshot(image: Image, region: string): string {
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === (image.RootDeviceName ?? ROOT_DEVICE)) ?? image.BlockDeviceMappings?.[0];
  return requireId(root?.Ebs?.SnapshotId, `root snapshot of ${image.ImageId ?? "the AMI"}`, region);
}
