// The `aws` settings: where disk images go (bucket, regions), how long to wait, and the endpoint
// overrides that point the same SDK code at the local stand-in instead of AWS.
import { z } from "zod";

/** AWS region names as AWS spells them (us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5). */
export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
/** S3 bucket naming rules (the DNS-compatible subset: no dots, so path-style and virtual-host both work). */
export const S3_BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** Key prefix: relative, no `..` segments, no leading slash; empty or ending in `/`. */
const PREFIX = /^(?:(?!\.\.?\/)[A-Za-z0-9._-]+\/)*$/;

const region = z.string().regex(AWS_REGION, "not an AWS region name (e.g. us-east-1)");

export const AWS_DEFAULTS = {
  region: "us-east-1",
  prefix: "atomic-ci/images/",
  importTimeoutMs: 3_600_000,
  copyTimeoutMs: 3_600_000,
  pollIntervalMs: 15_000,
  maxPollIntervalMs: 60_000,
  maxAttempts: 5,
  partSizeBytes: 16 * 1024 * 1024,
  volumeType: "gp3",
} as const;

export const awsConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe("Upload the aws-vmdk image to S3 and register it as an AMI after each build"),
    bucket: z.string().regex(S3_BUCKET, "not an S3 bucket name (lowercase, digits, '-', 3-63 chars)").optional().describe("S3 bucket the vmdk is uploaded to (in `region`); required when enabled"),
    region: region.default(AWS_DEFAULTS.region).describe("Region of the bucket, the import and the first AMI"),
    regions: z.array(region).default([]).describe("Further regions the AMI is copied to (CopyImage), in order"),
    prefix: z.string().regex(PREFIX, "a relative key prefix ending in '/'").default(AWS_DEFAULTS.prefix).describe("S3 key prefix: objects are <prefix><commit>/<file>"),
    endpoint: z.url().optional().describe("EC2 endpoint override (the local stand-in); unset: AWS's regional endpoints"),
    s3Endpoint: z.url().optional().describe("S3 endpoint override (the local stand-in); unset: AWS's"),
    forcePathStyle: z.boolean().optional().describe("Path-style S3 URLs (bucket in the path); default true when s3Endpoint is set"),
    accessKeyId: z.string().min(1).optional().describe("Static credentials; unset: the SDK's default provider chain (AWS_* env, ~/.aws, instance role)"),
    secretAccessKey: z.string().min(1).optional().describe("Static credentials, with accessKeyId (never logged)"),
    sessionToken: z.string().min(1).optional().describe("Session token of temporary static credentials"),
    importTimeoutMs: z.int().positive().default(AWS_DEFAULTS.importTimeoutMs).describe("Give up waiting for ImportSnapshot after this long"),
    copyTimeoutMs: z.int().positive().default(AWS_DEFAULTS.copyTimeoutMs).describe("Give up waiting for an AMI (registered or copied) to become available after this long"),
    pollIntervalMs: z.int().positive().default(AWS_DEFAULTS.pollIntervalMs).describe("First wait between two polls; grows 1.5x per poll"),
    maxPollIntervalMs: z.int().positive().default(AWS_DEFAULTS.maxPollIntervalMs).describe("Longest wait between two polls"),
    maxAttempts: z.int().min(1).max(20).default(AWS_DEFAULTS.maxAttempts).describe("SDK attempts per request (throttling and 5xx are retried with backoff)"),
    partSizeBytes: z.int().min(5 * 1024 * 1024).default(AWS_DEFAULTS.partSizeBytes).describe("Multipart upload part size (S3 minimum 5 MiB)"),
    volumeType: z.enum(["gp2", "gp3", "standard"]).default(AWS_DEFAULTS.volumeType).describe("EBS volume type of the AMI's root device"),
  })
  .superRefine((value, ctx) => {
    if (value.enabled && value.bucket === undefined) ctx.addIssue({ code: "custom", path: ["bucket"], message: "required when aws.enabled is true" });
    if ((value.accessKeyId === undefined) !== (value.secretAccessKey === undefined)) {
      ctx.addIssue({ code: "custom", path: ["secretAccessKey"], message: "accessKeyId and secretAccessKey go together" });
    }
    if (value.regions.includes(value.region)) ctx.addIssue({ code: "custom", path: ["regions"], message: "lists the home region itself" });
    if (new Set(value.regions).size !== value.regions.length) ctx.addIssue({ code: "custom", path: ["regions"], message: "lists a region twice" });
  });

export type AwsSettings = z.output<typeof awsConfigSchema>;
export type AwsSettingsInput = z.input<typeof awsConfigSchema>;
