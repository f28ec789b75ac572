import { describe, expect, it } from "vitest";
import { amiName, buildTags, clientToken, coversRegions, ec2Architecture, nextDelay, objectKey, orderAmis } from "./plan.js";

const COMMIT = "0123456789ab".padEnd(64, "f");
const build = { name: "fedora-atomic-host", buildId: "41.20261126.dev.0", basearch: "x86_64", commit: COMMIT };

describe("names and keys", () => {
  it("names the AMI after the build and commit, in EC2's alphabet and length", () => {
    expect(amiName(build)).toBe("fedora-atomic-host-41.20261126.dev.0-x86_64-0123456789ab");
    expect(amiName({ ...build, name: "my host+os", buildId: "1~rc" })).toBe("my host-os-1-rc-x86_64-0123456789ab");
    const long = amiName({ ...build, name: "x".repeat(200) });
    expect(long).toHaveLength(128);
    expect(long.endsWith("-0123456789ab")).toBe(true);
  });

  it("keys objects under the prefix and commit; refuses paths", () => {
    expect(objectKey("atomic-ci/images/", COMMIT, "a-41-aws.x86_64.vmdk")).toBe(`atomic-ci/images/${COMMIT}/a-41-aws.x86_64.vmdk`);
    expect(objectKey("", COMMIT, "a.vmdk")).toBe(`${COMMIT}/a.vmdk`);
    expect(() => objectKey("p/", COMMIT, "../x.vmdk")).toThrow(RangeError);
    expect(() => objectKey("p/", COMMIT, "a/b.vmdk")).toThrow(RangeError);
    expect(() => objectKey("p/", "not-a-commit", "a.vmdk")).toThrow(RangeError);
  });

  it("derives the same ClientToken from the same request, a different one otherwise, within EC2's 64 characters", () => {
    expect(clientToken("import", "n", "s")).toBe(clientToken("import", "n", "s"));
    expect(clientToken("import", "n", "s")).not.toBe(clientToken("copy", "n", "s"));
    expect(clientToken("a", "bc")).not.toBe(clientToken("ab", "c"));
    expect(clientToken("x")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("maps basearch to EC2 architectures", () => {
    expect(ec2Architecture("x86_64")).toBe("x86_64");
    expect(ec2Architecture("aarch64")).toBe("arm64");
    expect(() => ec2Architecture("s390x")).toThrow(RangeError);
  });

  it("tags with the name, build, commit and vmdk checksum", () => {
    expect(buildTags(build, "n", "e".repeat(64))).toEqual([
      { Key: "Name", Value: "n" },
      { Key: "atomic-ci:build", Value: "41.20261126.dev.0" },
      { Key: "atomic-ci:commit", Value: COMMIT },
      { Key: "atomic-ci:vmdk-sha256", Value: "e".repeat(64) },
    ]);
  });
});

describe("polling and results", () => {
  it("backs off 1.5x up to the maximum", () => {
    const waits = [1000];
    for (let i = 0; i < 6; i++) waits.push(nextDelay(waits[waits.length - 1] ?? 0, 5000));
    expect(waits).toEqual([1000, 1500, 2250, 3375, 5000, 5000, 5000]);
  });

  it("orders amis home region first and checks coverage", () => {
    const amis = [
      { name: "eu-west-1", hvm: "ami-2", snapshot: "snap-2" },
      { name: "us-east-1", hvm: "ami-1", snapshot: "snap-1" },
      { name: "us-west-2", hvm: "ami-3", snapshot: "snap-3" },
    ];
    expect(orderAmis(amis, "us-east-1", ["us-west-2", "eu-west-1"]).map((a) => a.name)).toEqual(["us-east-1", "us-west-2", "eu-west-1"]);
    expect(coversRegions(amis, "us-east-1", ["eu-west-1"])).toBe(true);
    expect(coversRegions(amis, "us-east-1", ["ap-south-1"])).toBe(false);
    expect(coversRegions(undefined, "us-east-1", [])).toBe(false);
  });
});
