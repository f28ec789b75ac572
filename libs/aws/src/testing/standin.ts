// The local AWS stand-in: s3rver (an npm S3 server, storing objects in a directory and checking
// SigV4 signatures for its one account) plus the EC2 responder of ./ec2.ts, which reads imported
// objects back through S3 as EC2 does. Point AwsUploader at it with `standIn.settings(...)`.
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import type { AwsSettings, AwsSettingsInput } from "../config.js";
import { awsConfigSchema } from "../config.js";
import { describeSdkError } from "../errors.js";
import { Ec2StandIn, type ObjectHead } from "./ec2.js";

/** s3rver's single account; the EC2 stand-in takes any credentials. Copied before use: the SDK tags credential objects it is given. */
export const STAND_IN_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface AwsStandInOptions {
  /** Where s3rver keeps buckets and objects. */
  directory: string;
  /** Buckets that exist from the start (default ["atomic-ci-images"]). */
  buckets?: string[];
  importPolls?: number;
  imagePolls?: number;
}

export interface AwsStandIn {
  s3Endpoint: string;
  ec2Endpoint: string;
  ec2: Ec2StandIn;
  /** A client of the S3 stand-in (for tests that look at or delete objects). */
  s3: S3Client;
  /** Uploader settings pointing here: endpoints, credentials, fast polling; `overrides` win. */
  settings(overrides?: Partial<AwsSettingsInput>): AwsSettings;
  /** The same as config input (for a service's `imageBuilder.aws` section). */
  config(overrides?: Partial<AwsSettingsInput>): AwsSettingsInput;
  stop(): Promise<void>;
}

export async function startAwsStandIn(options: AwsStandInOptions): Promise<AwsStandIn> {
  const buckets = options.buckets ?? ["atomic-ci-images"];
  const s3rver = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: options.directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const address = await s3rver.run();
  const s3Endpoint = `http://127.0.0.1:${address.port}`;
  const s3 = new S3Client({ region: "us-east-1", endpoint: s3Endpoint, forcePathStyle: true, credentials: { ...STAND_IN_CREDENTIALS } });
  const readObject = async (bucket: string, key: string, bytes: number): Promise<ObjectHead | undefined> => {
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const size = head.ContentLength ?? 0;
      if (size === 0) return { size, head: new Uint8Array() };
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${Math.min(size, bytes) - 1}` }));
      return { size, head: (await got.Body?.transformToByteArray()) ?? new Uint8Array() };
    } catch (err) {
      const d = describeSdkError(err);
      if (d.httpStatus === 404 || d.awsCode === "NoSuchKey" || d.awsCode === "NotFound" || d.awsCode === "NoSuchBucket") return undefined;
      throw err;
    }
  };
  const ec2 = new Ec2StandIn({ readObject, ...(options.importPolls === undefined ? {} : { importPolls: options.importPolls }), ...(options.imagePolls === undefined ? {} : { imagePolls: options.imagePolls }) });
  const ec2Endpoint = await ec2.start();
  const config = (overrides: Partial<AwsSettingsInput> = {}): AwsSettingsInput => ({
    enabled: true,
    bucket: buckets[0],
    endpoint: ec2Endpoint,
    s3Endpoint,
    ...STAND_IN_CREDENTIALS,
    pollIntervalMs: 20,
    maxPollIntervalMs: 100,
    importTimeoutMs: 30_000,
    copyTimeoutMs: 30_000,
    maxAttempts: 2,
    ...overrides,
  });
  return {
    s3Endpoint,
    ec2Endpoint,
    ec2,
    s3,
    config,
    settings: (overrides) => awsConfigSchema.parse(config(overrides)),
    async stop() {
      s3.destroy();
      await ec2.stop();
      await s3rver.close();
    },
  };
}
