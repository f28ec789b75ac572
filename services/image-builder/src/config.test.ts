import { loadConfig, redactConfig } from "@atomic-ci/runtime";
import { describe, expect, it } from "vitest";
import { defaultConfig, imageBuilderConfigSchema } from "./index.js";

describe("imageBuilder config", () => {
  it("defaults: trigger compose, AWS off", () => {
    const config = loadConfig(imageBuilderConfigSchema, { env: {}, defaults: defaultConfig });
    expect(config.imageBuilder).toMatchObject({ trigger: "compose", gateMemory: 1000, aws: { enabled: false, region: "us-east-1", regions: [] } });
  });

  it("reads the AWS section from env, and never shows its credentials", () => {
    const config = loadConfig(imageBuilderConfigSchema, {
      defaults: defaultConfig,
      env: {
        ATOMIC_CI_IMAGE_BUILDER__TRIGGER: "compose-gate",
        ATOMIC_CI_IMAGE_BUILDER__AWS__ENABLED: "true",
        ATOMIC_CI_IMAGE_BUILDER__AWS__BUCKET: "atomic-images",
        ATOMIC_CI_IMAGE_BUILDER__AWS__REGIONS: "eu-west-1,ap-southeast-2",
        ATOMIC_CI_IMAGE_BUILDER__AWS__ACCESS_KEY_ID: "AKIAEXAMPLE",
        ATOMIC_CI_IMAGE_BUILDER__AWS__SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG",
      },
    });
    expect(config.imageBuilder.trigger).toBe("compose-gate");
    expect(config.imageBuilder.aws).toMatchObject({ enabled: true, bucket: "atomic-images", regions: ["eu-west-1", "ap-southeast-2"], accessKeyId: "AKIAEXAMPLE" });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain("AKIAEXAMPLE");
    expect(shown).not.toContain("wJalrXUtnFEMI");
    expect(shown).toContain("atomic-images");
  });

  it("refuses AWS enabled without a bucket, naming the key", () => {
    expect(() => loadConfig(imageBuilderConfigSchema, { defaults: defaultConfig, env: { ATOMIC_CI_IMAGE_BUILDER__AWS__ENABLED: "true" } })).toThrow(/imageBuilder\.aws\.bucket.*required when aws\.enabled is true/s);
  });
});
