// A small EC2 Query-API responder on node:http: just the actions the AWS backend uses, answering
// in EC2's 2016-11-15 XML shape so the real SDK client parses them. State is in memory, per region
// (taken from the SigV4 credential scope, so one endpoint serves every region). Import tasks and
// AMIs progress one step per describe call; the import reads the object back from S3 and checks
// it is a streamOptimized VMDK, as EC2 does. Signatures are not verified.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listen, readBody } from "@atomic-ci/http";
import { parseVmdkHead, streamOptimizedProblem, VMDK_HEAD_BYTES } from "../vmdk.js";
import { ec2ErrorResponse, ec2Response, QueryParams, signedRegion, type XmlValue } from "./xml.js";

/** The stand-in's own account id (`imageOwnerId`). */
export const STAND_IN_ACCOUNT = "123456789012";

export interface ObjectHead {
  size: number;
  head: Uint8Array;
}

/** Reads the first bytes of an S3 object; undefined when there is no such object. */
export type ReadObjectHead = (bucket: string, key: string, bytes: number) => Promise<ObjectHead | undefined>;

export interface Ec2StandInOptions {
  readObject: ReadObjectHead;
  /** Describe calls an import task answers `active` before it completes (default 3). */
  importPolls?: number;
  /** Describe calls a registered or copied AMI answers `pending` (default 1). */
  imagePolls?: number;
}

type Tags = Map<string, string>;

export interface ImportTask {
  id: string;
  region: string;
  bucket: string;
  key: string;
  format: string;
  description: string;
  status: "active" | "completed" | "deleting" | "deleted";
  statusMessage: string;
  progress: number;
  polls: number;
  snapshotId?: string;
  diskImageSize?: number;
  /** The VMDK's virtual size, once validated. */
  capacityBytes?: number;
  /** Set by failNextImport: the task ends `deleted` with this message. */
  failWith?: string;
  tags: Tags;
}

export interface Snapshot {
  id: string;
  region: string;
  volumeSize: number;
  description: string;
  tags: Tags;
}

export interface StandInImage {
  id: string;
  region: string;
  name: string;
  description: string;
  architecture: string;
  virtualizationType: string;
  enaSupport: boolean;
  rootDeviceName: string;
  snapshotId: string;
  volumeSize: number;
  volumeType: string;
  state: "pending" | "available" | "failed";
  polls: number;
  created: string;
  sourceImage?: string;
  tags: Tags;
}

interface Region {
  tasks: Map<string, ImportTask>;
  snapshots: Map<string, Snapshot>;
  images: Map<string, StandInImage>;
}

/** A fault to inject: the next `times` calls of `action` answer this error. */
export interface Fault {
  action: string;
  code: string;
  status: number;
  message?: string;
  times?: number;
}

class Ec2Fault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const hexId = (prefix: string) => `${prefix}-${randomBytes(9).toString("hex").slice(0, 17)}`;

export class Ec2StandIn {
  private readonly server: Server;
  private readonly regions = new Map<string, Region>();
  private readonly tokens = new Map<string, string>();
  private readonly faults: (Fault & { left: number })[] = [];
  private readonly importPolls: number;
  private readonly imagePolls: number;
  private failImport: string | undefined;
  /** Every action received, in order (region and action), for tests that count calls. */
  readonly calls: { region: string; action: string }[] = [];
  private port = 0;

  constructor(private readonly options: Ec2StandInOptions) {
    this.importPolls = options.importPolls ?? 3;
    this.imagePolls = options.imagePolls ?? 1;
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  async start(host = "127.0.0.1", port = 0): Promise<string> {
    this.port = await listen(this.server, host, port);
    return this.endpoint;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    return closeServer(this.server, "all");
  }

  /** The next import task created ends `deleted` with this status message (as EC2 reports a bad disk). */
  failNextImport(message = "ClientError: Disk validation failed [Unsupported VMDK File Format]"): void {
    this.failImport = message;
  }

  /** The next `times` (default 1) calls of an action answer an error (e.g. RequestLimitExceeded, 503). */
  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Forgets every task, snapshot, AMI and ClientToken (a fresh account); faults and calls stay. */
  reset(): void {
    this.regions.clear();
    this.tokens.clear();
  }

  images(region: string): StandInImage[] {
    return [...this.region(region).images.values()];
  }

  snapshots(region: string): Snapshot[] {
    return [...this.region(region).snapshots.values()];
  }

  importTasks(region: string): ImportTask[] {
    return [...this.region(region).tasks.values()];
  }

  private region(name: string): Region {
    let r = this.regions.get(name);
    if (!r) {
      r = { tasks: new Map(), snapshots: new Map(), images: new Map() };
      this.regions.set(name, r);
    }
    return r;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(16).toString("hex");
    const send = (status: number, xml: string) => {
      res.writeHead(status, { "content-type": "text/xml;charset=UTF-8", "content-length": Buffer.byteLength(xml), "x-amzn-requestid": requestId });
      res.end(xml);
    };
    try {
      if (req.method !== "POST") throw new Ec2Fault("InvalidAction", "the Query API takes POST", 400);
      const params = new QueryParams(new URLSearchParams(await readBody(req)));
      const action = params.get("Action") ?? "";
      const regionName = signedRegion(req.headers.authorization);
      if (!regionName) throw new Ec2Fault("AuthFailure", "no SigV4 credential scope in Authorization", 401);
      if (params.get("Version") !== "2016-11-15") throw new Ec2Fault("InvalidParameterValue", `unsupported API version ${params.get("Version") ?? "(none)"}`);
      this.calls.push({ region: regionName, action });
      const fault = this.faults.find((f) => f.action === action && f.left > 0);
      if (fault) {
        fault.left--;
        throw new Ec2Fault(fault.code, fault.message ?? `injected ${fault.code}`, fault.status);
      }
      const body = await this.dispatch(action, params, regionName);
      send(200, ec2Response(action, requestId, body));
    } catch (err) {
      if (err instanceof Ec2Fault) send(err.status, ec2ErrorResponse(err.code, err.message, requestId));
      else send(500, ec2ErrorResponse("InternalError", err instanceof Error ? err.message : String(err), requestId));
    }
  }

  private dispatch(action: string, p: QueryParams, region: string): Promise<Record<string, XmlValue>> | Record<string, XmlValue> {
    switch (action) {
      case "ImportSnapshot":
        return this.importSnapshot(p, region);
      case "DescribeImportSnapshotTasks":
        return this.describeImportSnapshotTasks(p, region);
      case "RegisterImage":
        return this.registerImage(p, region);
      case "CopyImage":
        return this.copyImage(p, region);
      case "DescribeImages":
        return this.describeImages(p, region);
      case "CreateTags":
        return this.createTags(p, region);
      default:
        throw new Ec2Fault("InvalidAction", `The action ${action || "(none)"} is not valid for this web service (stand-in).`);
    }
  }

  /** A ClientToken seen before returns what it returned then (EC2's idempotency). */
  private idempotent(region: string, action: string, token: string | undefined, make: () => string): string {
    if (!token) return make();
    const key = `${region}\0${action}\0${token}`;
    const seen = this.tokens.get(key);
    if (seen) return seen;
    const id = make();
    this.tokens.set(key, id);
    return id;
  }

  private importSnapshot(p: QueryParams, region: string): Record<string, XmlValue> {
    const format = (p.get("DiskContainer.Format") ?? "").toUpperCase();
    const bucket = p.get("DiskContainer.UserBucket.S3Bucket");
    const key = p.get("DiskContainer.UserBucket.S3Key");
    if (p.get("DiskContainer.Url")) throw new Ec2Fault("InvalidParameter", "the stand-in imports from DiskContainer.UserBucket only");
    if (!bucket || !key) throw new Ec2Fault("MissingParameter", "DiskContainer.UserBucket.S3Bucket and S3Key are required");
    if (format !== "VMDK") throw new Ec2Fault("InvalidParameter", `the stand-in imports VMDK only, not ${format || "(none)"}`);
    const r = this.region(region);
    const id = this.idempotent(region, "ImportSnapshot", p.get("ClientToken"), () => {
      const task: ImportTask = {
        id: hexId("import-snap"),
        region,
        bucket,
        key,
        format,
        description: p.get("Description") ?? "",
        status: "active",
        statusMessage: "pending",
        progress: 0,
        polls: 0,
        tags: new Map(),
      };
      if (this.failImport !== undefined) task.failWith = this.failImport;
      this.failImport = undefined;
      for (const spec of p.members("TagSpecification")) {
        if (spec.get("ResourceType") === "import-snapshot-task") for (const t of spec.tags()) task.tags.set(t.key, t.value);
      }
      r.tasks.set(task.id, task);
      return task.id;
    });
    const task = r.tasks.get(id);
    if (!task) throw new Ec2Fault("InternalError", "lost task");
    return { description: task.description, importTaskId: task.id, snapshotTaskDetail: this.taskDetail(task), tagSet: tagSet(task.tags) };
  }

  private async describeImportSnapshotTasks(p: QueryParams, region: string): Promise<Record<string, XmlValue>> {
    const r = this.region(region);
    const ids = p.list("ImportTaskId");
    const tasks = ids.length === 0 ? [...r.tasks.values()] : ids.map((id) => r.tasks.get(id) ?? fail("InvalidConversionTaskId.Malformed", `The import task ${id} does not exist`));
    for (const task of tasks) await this.advance(task);
    return { importSnapshotTaskSet: tasks.map((t) => ({ description: t.description, importTaskId: t.id, snapshotTaskDetail: this.taskDetail(t), tagSet: tagSet(t.tags) })) };
  }

  /** One poll's worth of progress: validate the disk, convert, complete (or fail as EC2 would). */
  private async advance(task: ImportTask): Promise<void> {
    if (task.status !== "active") return;
    task.polls++;
    if (task.polls === 1) {
      task.statusMessage = "validating";
      task.progress = 10;
      if (task.failWith !== undefined) return this.failTask(task, task.failWith);
      const object = await this.options.readObject(task.bucket, task.key, VMDK_HEAD_BYTES);
      if (!object) return this.failTask(task, `ClientError: Disk validation failed [We do not have access to the given resource. Reason 404 Not Found: s3://${task.bucket}/${task.key}]`);
      let problem: string | undefined;
      try {
        const info = parseVmdkHead(object.head);
        problem = streamOptimizedProblem(info);
        task.diskImageSize = object.size;
        task.progress = 20;
        task.capacityBytes = info.capacityBytes;
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      if (problem) this.failTask(task, `ClientError: Disk validation failed [Unsupported VMDK File Format: ${problem}]`);
      return;
    }
    if (task.polls < this.importPolls) {
      task.statusMessage = "converting";
      task.progress = Math.min(95, 20 + Math.round((75 * (task.polls - 1)) / Math.max(1, this.importPolls - 1)));
      return;
    }
    // EBS sizes are whole GiB: the virtual size rounded up.
    const snapshot: Snapshot = { id: hexId("snap"), region: task.region, volumeSize: Math.max(1, Math.ceil((task.capacityBytes ?? 0) / 2 ** 30)), description: `Created by AWS-VMIE for ${task.id}`, tags: new Map() };
    this.region(task.region).snapshots.set(snapshot.id, snapshot);
    task.snapshotId = snapshot.id;
    task.status = "completed";
    task.statusMessage = "";
    task.progress = 100;
  }

  private failTask(task: ImportTask, message: string): void {
    task.status = "deleted";
    task.statusMessage = message;
  }

  private taskDetail(t: ImportTask): Record<string, XmlValue> {
    return {
      description: t.description,
      diskImageSize: t.diskImageSize,
      format: t.format,
      progress: t.status === "active" ? String(t.progress) : undefined,
      snapshotId: t.snapshotId,
      status: t.status,
      statusMessage: t.statusMessage || undefined,
      userBucket: { s3Bucket: t.bucket, s3Key: t.key },
    };
  }

  private registerImage(p: QueryParams, region: string): Record<string, XmlValue> {
    const r = this.region(region);
    const name = p.get("Name") ?? fail("MissingParameter", "Name is required");
    if (!/^[A-Za-z0-9()[\] ./'@_-]{3,128}$/.test(name)) throw new Ec2Fault("InvalidAMIName.Malformed", `AMI names must be 3-128 characters of [A-Za-z0-9()[] ./'@_-]: ${name}`);
    if (p.get("ImageLocation")) throw new Ec2Fault("InvalidParameter", "the stand-in registers EBS-backed AMIs from a snapshot only");
    if ([...r.images.values()].some((i) => i.name === name)) throw new Ec2Fault("InvalidAMIName.Duplicate", `AMI name ${name} is already in use by AMI ${[...r.images.values()].find((i) => i.name === name)?.id ?? ""}`);
    const rootDeviceName = p.get("RootDeviceName") ?? fail("MissingParameter", "RootDeviceName is required");
    const mapping = p.members("BlockDeviceMapping").find((m) => m.get("DeviceName") === rootDeviceName);
    const snapshotId = mapping?.get("Ebs.SnapshotId") ?? fail("InvalidBlockDeviceMapping", `no EBS snapshot mapped at the root device ${rootDeviceName}`);
    const snapshot = r.snapshots.get(snapshotId) ?? fail("InvalidSnapshot.NotFound", `The snapshot '${snapshotId}' does not exist.`);
    const virtualizationType = p.get("VirtualizationType") ?? "paravirtual";
    if (virtualizationType !== "hvm") throw new Ec2Fault("InvalidParameterValue", "the stand-in registers hvm AMIs only");
    const image: StandInImage = {
      id: hexId("ami"),
      region,
      name,
      description: p.get("Description") ?? "",
      architecture: p.get("Architecture") ?? "x86_64",
      virtualizationType,
      enaSupport: p.get("EnaSupport") === "true",
      rootDeviceName,
      snapshotId: snapshot.id,
      volumeSize: snapshot.volumeSize,
      volumeType: mapping?.get("Ebs.VolumeType") ?? "standard",
      state: "pending",
      polls: 0,
      created: new Date().toISOString(),
      tags: new Map(),
    };
    r.images.set(image.id, image);
    return { imageId: image.id };
  }

  private copyImage(p: QueryParams, region: string): Record<string, XmlValue> {
    const sourceRegion = p.get("SourceRegion") ?? fail("MissingParameter", "SourceRegion is required");
    const sourceId = p.get("SourceImageId") ?? fail("MissingParameter", "SourceImageId is required");
    const name = p.get("Name") ?? fail("MissingParameter", "Name is required");
    const source = this.region(sourceRegion).images.get(sourceId) ?? fail("InvalidAMIID.NotFound", `The image id '[${sourceId}]' does not exist in ${sourceRegion}`);
    if (source.state !== "available") throw new Ec2Fault("IncorrectState", `Image ${sourceId} is not in a valid state: ${source.state}`);
    const r = this.region(region);
    const id = this.idempotent(region, "CopyImage", p.get("ClientToken"), () => {
      if ([...r.images.values()].some((i) => i.name === name)) throw new Ec2Fault("InvalidAMIName.Duplicate", `AMI name ${name} is already in use`);
      const snapshot: Snapshot = { id: hexId("snap"), region, volumeSize: source.volumeSize, description: `Copied for DestinationAmi from SourceAmi ${sourceId}`, tags: new Map() };
      r.snapshots.set(snapshot.id, snapshot);
      const image: StandInImage = { ...source, id: hexId("ami"), region, name, description: p.get("Description") ?? source.description, snapshotId: snapshot.id, state: "pending", polls: 0, created: new Date().toISOString(), sourceImage: `${sourceRegion}/${sourceId}`, tags: new Map() };
      r.images.set(image.id, image);
      return image.id;
    });
    return { imageId: id };
  }

  private describeImages(p: QueryParams, region: string): Record<string, XmlValue> {
    const r = this.region(region);
    const ids = p.list("ImageId");
    const owners = p.list("Owner");
    const filters = p.members("Filter").map((f) => ({ name: f.get("Name") ?? "", values: f.list("Value") }));
    for (const f of filters) if (!["name", "state", "image-id"].includes(f.name) && !f.name.startsWith("tag:")) throw new Ec2Fault("InvalidParameterValue", `the stand-in does not filter on ${f.name}`);
    for (const id of ids) if (!r.images.has(id)) throw new Ec2Fault("InvalidAMIID.NotFound", `The image id '[${id}]' does not exist`);
    let images = [...r.images.values()];
    if (ids.length > 0) images = images.filter((i) => ids.includes(i.id));
    // Every AMI here is the caller's: "self", "amazon" or another account id decides between all and none.
    if (owners.length > 0 && !owners.some((o) => o === "self" || o === STAND_IN_ACCOUNT)) images = [];
    for (const f of filters) {
      images = images.filter((i) => {
        const value = f.name === "name" ? i.name : f.name === "state" ? i.state : f.name === "image-id" ? i.id : i.tags.get(f.name.slice(4));
        return value !== undefined && f.values.some((v) => globMatch(v, value));
      });
    }
    for (const image of images) {
      if (image.state === "pending" && ++image.polls > this.imagePolls) image.state = "available";
    }
    return { imagesSet: images.map((i) => this.imageXml(i)) };
  }

  private imageXml(i: StandInImage): Record<string, XmlValue> {
    return {
      imageId: i.id,
      imageLocation: `${STAND_IN_ACCOUNT}/${i.name}`,
      imageState: i.state,
      imageOwnerId: STAND_IN_ACCOUNT,
      creationDate: i.created,
      isPublic: false,
      architecture: i.architecture,
      imageType: "machine",
      name: i.name,
      description: i.description || undefined,
      rootDeviceType: "ebs",
      rootDeviceName: i.rootDeviceName,
      blockDeviceMapping: [{ deviceName: i.rootDeviceName, ebs: { snapshotId: i.snapshotId, volumeSize: i.volumeSize, deleteOnTermination: true, volumeType: i.volumeType, encrypted: false } }],
      virtualizationType: i.virtualizationType,
      tagSet: tagSet(i.tags),
      enaSupport: i.enaSupport,
      hypervisor: "xen",
    };
  }

  private createTags(p: QueryParams, region: string): Record<string, XmlValue> {
    const r = this.region(region);
    const ids = p.list("ResourceId");
    if (ids.length === 0) throw new Ec2Fault("MissingParameter", "ResourceId is required");
    const tags = p.tags();
    const targets = ids.map((id) => {
      const target = r.images.get(id) ?? r.snapshots.get(id) ?? r.tasks.get(id);
      if (!target) {
        const kind = id.startsWith("ami-") ? "InvalidAMIID.NotFound" : id.startsWith("snap-") ? "InvalidSnapshot.NotFound" : "InvalidID";
        throw new Ec2Fault(kind, `The ID '${id}' does not exist`);
      }
      return target;
    });
    for (const target of targets) for (const t of tags) target.tags.set(t.key, t.value);
    return { return: true };
  }
}

function fail(code: string, message: string): never {
  throw new Ec2Fault(code, message);
}

function tagSet(tags: Tags): XmlValue {
  return [...tags].map(([key, value]) => ({ key, value }));
}

/** EC2 filter values take `*` and `?` wildcards. */
function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(value);
}
