import { describe, expect, it } from "vitest";
import { mergeOverrides } from "./config.js";
import { brokerUser, processConfig, processEnv, runNames } from "./processes.js";

describe("the names of a run on the shared broker and Redis", () => {
  it("derive from one id: an exchange, a queue per service, a Redis prefix", () => {
    const names = runNames("0a1b2c3d");
    expect(names.exchange).toBe("atomic-ci.demo.0a1b2c3d");
    expect(names.queueOf("composer")).toBe("atomic-ci.demo.0a1b2c3d.composer");
    expect(names.redisPrefix).toBe("atomic-ci:demo:0a1b2c3d:");
    expect(runNames().id).not.toBe(runNames().id);
  });
});

describe("a service's config file", () => {
  const names = runNames("feedbeef");
  const urls = { amqpUrl: "amqp://ci:secret@broker.example:5672/%2F", redisUrl: "redis://127.0.0.1:6379" };

  it("keeps the demo's overrides and adds the broker, Redis and the run's names", () => {
    const config = processConfig("composer", { http: { host: "127.0.0.1", port: 0 }, composer: { workDir: "/run/work" } }, names, urls);
    expect(config).toEqual({
      service: "composer",
      http: { host: "127.0.0.1", port: 0 },
      composer: { workDir: "/run/work" },
      bus: { transport: "amqp", amqp: { url: urls.amqpUrl }, exchange: "atomic-ci.demo.feedbeef", queue: "atomic-ci.demo.feedbeef.composer" },
      redis: { url: urls.redisUrl, keyPrefix: "atomic-ci:demo:feedbeef:idem" },
    });
  });

  it("puts each service's own Redis keys under the run's prefix, merged into its section", () => {
    const listener = processConfig("trigger-listener", { triggerListener: { candidateTag: "f41-updates-candidate" } }, names, urls);
    expect(listener["triggerListener"]).toEqual({ candidateTag: "f41-updates-candidate", stateKey: "atomic-ci:demo:feedbeef:trigger-listener:state" });
    const runner = processConfig("test-runner", { testRunner: { workDir: "/w" } }, names, urls);
    expect(runner["testRunner"]).toEqual({ workDir: "/w", results: { redisPrefix: "atomic-ci:demo:feedbeef:results" } });
  });

  it("makes the publisher trust the broker account every service shares", () => {
    const publisher = processConfig("publisher", { publisher: { tickSeconds: 1 } }, names, urls);
    expect(publisher["publisher"]).toEqual({ tickSeconds: 1, stateKeyPrefix: "atomic-ci:demo:feedbeef:publisher", trust: { gatekeeperUser: "ci" } });
    expect(brokerUser("amqp://127.0.0.1")).toBe("guest");
    expect(brokerUser("amqps://a%40b:pw@host/vh")).toBe("a@b");
  });
});

describe("a service process's environment", () => {
  it("drops what would win over its config file and names the file", () => {
    const env = processEnv(
      {
        PATH: "/usr/bin",
        HOME: "/root",
        AMQP_URL: "amqp://elsewhere",
        REDIS_URL: "redis://elsewhere",
        NATS_URL: "nats://elsewhere",
        ATOMIC_CI_LOG_LEVEL: "debug",
        ATOMIC_CI_BUS__QUEUE: "other",
        ATOMIC_CI_SHARED_DIR: "/shared",
        ATOMIC_CI_CONFIG: "/some/other.yaml",
        UNSET: undefined,
      },
      "/run/config/composer.json",
    );
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/root", ATOMIC_CI_SHARED_DIR: "/shared", ATOMIC_CI_CONFIG: "/run/config/composer.json" });
  });
});

describe("mergeOverrides", () => {
  it("merges sections key by key and replaces other values", () => {
    expect(mergeOverrides({ a: { b: 1, c: { d: 2 } }, l: [1] }, { a: { c: { e: 3 } }, l: [2], n: null })).toEqual({ a: { b: 1, c: { d: 2, e: 3 } }, l: [2], n: null });
  });
});
