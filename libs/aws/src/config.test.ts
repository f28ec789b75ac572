import { describe, expect, it } from "vitest";
import { awsConfigSchema } from "./config.js";

describe("awsConfigSchema", () => {
  it("is off by default with AWS's endpoints and the SDK's credential chain", () => {
    const s = awsConfigSchema.parse({});
    expect(s).toMatchObject({ enabled: false, region: "us-east-1", regions: [], prefix: "atomic-ci/images/", volumeType: "gp3", maxAttempts: 5 });
    expect(s.endpoint).toBeUndefined();
    expect(s.accessKeyId).toBeUndefined();
  });

  it("needs a bucket when enabled, and both halves of static credentials", () => {
    const issues = (v: unknown) => {
      const r = awsConfigSchema.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(issues({ enabled: true })).toEqual(["bucket: required when aws.enabled is true"]);
    expect(issues({ enabled: true, bucket: "b-1", accessKeyId: "AKID" })).toEqual(["secretAccessKey: accessKeyId and secretAccessKey go together"]);
    expect(issues({ enabled: true, bucket: "b-1", regions: ["us-east-1"] })).toEqual(["regions: lists the home region itself"]);
    expect(issues({ bucket: "Bad_Bucket" })).toHaveLength(1);
    expect(issues({ region: "mars-1" })).toHaveLength(1);
    expect(issues({ prefix: "../x/" })).toHaveLength(1);
    expect(issues({ prefix: "/abs/" })).toHaveLength(1);
    expect(issues({ enabled: true, bucket: "images", region: "eu-central-1", regions: ["us-east-1", "ap-southeast-2"], endpoint: "http://127.0.0.1:1", s3Endpoint: "http://127.0.0.1:2" })).toEqual([]);
  });
});
