import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { commonConfigSchema, queueOf } from "./common.js";
import { ConfigError } from "./errors.js";
import { loadConfig } from "./load.js";

const dir = mkdtempSync(join(tmpdir(), "atomic-ci-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function yamlFile(text: string): string {
  const path = join(dir, `config-${++files}.yaml`);
  writeFileSync(path, text);
  return path;
}

const base = { defaults: { service: "composer" } };

/** The ConfigError a load throws (fails the test when it does not throw one). */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig defaults", () => {
  it("fills every default of the common schema", () => {
    const config = loadConfig(commonConfigSchema, { ...base, env: {} });
    expect(config).toEqual({
      service: "composer",
      logLevel: "info",
      bus: {
        transport: "memory",
        exchange: "amq.topic",
        topicPrefix: "org.atomic-ci.dev",
        bindings: [],
        prefetch: 10,
        maxDeliveries: 5,
        maxBodyBytes: 1_048_576,
        amqp: { tls: {}, queueType: "quorum" },
        nats: { stream: "ATOMIC_CI" },
      },
      redis: { keyPrefix: "atomic-ci:idem" },
      http: { host: "0.0.0.0", port: 8080 },
      shutdownTimeoutMs: 30_000,
    });
    expect(queueOf(config)).toBe("atomic-ci.composer");
  });

  it("infers the transport from the URL that is set, AMQP first", () => {
    const load = (env: Record<string, string>) => loadConfig(commonConfigSchema, { ...base, env }).bus.transport;
    expect(load({ NATS_URL: "nats://n:4222" })).toBe("nats");
    expect(load({ NATS_URL: "nats://n:4222", AMQP_URL: "amqp://r" })).toBe("amqp");
    expect(load({ NATS_URL: "nats://n:4222", AMQP_URL: "amqp://r", ATOMIC_CI_BUS__TRANSPORT: "memory" })).toBe("memory");
  });

  it("requires the URL of an explicitly chosen transport", () => {
    const err = configError(() => loadConfig(commonConfigSchema, { ...base, env: { ATOMIC_CI_BUS__TRANSPORT: "amqp" } }));
    expect(err.message).toContain("bus.amqp.url (not set): required when bus.transport is amqp");
  });
});

describe("loadConfig precedence", () => {
  it("layers default < file < alias env < ATOMIC_CI env", () => {
    const file = yamlFile("bus:\n  amqp:\n    url: amqp://file-host\n  prefetch: 3\nhttp:\n  port: 9000\n");
    const fromFile = loadConfig(commonConfigSchema, { ...base, file, env: {} });
    expect(fromFile.bus.amqp.url).toBe("amqp://file-host");
    expect(fromFile.bus.prefetch).toBe(3);
    expect(fromFile.bus.maxDeliveries).toBe(5);

    const alias = loadConfig(commonConfigSchema, { ...base, file, env: { AMQP_URL: "amqp://alias-host" } });
    expect(alias.bus.amqp.url).toBe("amqp://alias-host");
    expect(alias.bus.prefetch).toBe(3);

    const full = loadConfig(commonConfigSchema, {
      ...base,
      file,
      env: { AMQP_URL: "amqp://alias-host", ATOMIC_CI_BUS__AMQP__URL: "amqp://env-host", ATOMIC_CI_BUS__PREFETCH: "7" },
    });
    expect(full.bus.amqp.url).toBe("amqp://env-host");
    expect(full.bus.prefetch).toBe(7);
    expect(full.http.port).toBe(9000);
  });

  it("puts the caller's defaults under the file and its overrides over env", () => {
    const file = yamlFile("bus:\n  bindings: [from.file.#]\n");
    const config = loadConfig(commonConfigSchema, {
      env: { ATOMIC_CI_HTTP__PORT: "1234" },
      file,
      defaults: { service: "composer", bus: { bindings: ["from.defaults.#"] } },
      overrides: { http: { port: 0 } },
    });
    expect(config.bus.bindings).toEqual(["from.file.#"]);
    expect(config.http.port).toBe(0);
  });

  it("reads the file named by ATOMIC_CI_CONFIG unless the caller names one", () => {
    const fromEnv = yamlFile("logLevel: debug\n");
    const explicit = yamlFile("logLevel: warn\n");
    expect(loadConfig(commonConfigSchema, { ...base, env: { ATOMIC_CI_CONFIG: fromEnv } }).logLevel).toBe("debug");
    expect(loadConfig(commonConfigSchema, { ...base, env: { ATOMIC_CI_CONFIG: fromEnv }, argvConfigPath: explicit }).logLevel).toBe("warn");
  });

  it("treats an empty env var as unset", () => {
    const config = loadConfig(commonConfigSchema, { ...base, env: { AMQP_URL: "", ATOMIC_CI_HTTP__PORT: "" } });
    expect(config.bus.transport).toBe("memory");
    expect(config.http.port).toBe(8080);
  });
});

describe("loadConfig env names and coercion", () => {
  const schema = commonConfigSchema.extend({
    feature: z
      .strictObject({
        enabled: z.boolean().default(false),
        ratios: z.array(z.number()).default([]),
        deepNested: z.strictObject({ maxItemCount: z.int().default(1) }).prefault({}),
      })
      .prefault({}),
  });

  it("maps __ to nesting and SNAKE_CASE to camelCase", () => {
    const config = loadConfig(schema, {
      ...base,
      env: {
        ATOMIC_CI_BUS__MAX_BODY_BYTES: "2048",
        ATOMIC_CI_SHUTDOWN_TIMEOUT_MS: "500",
        ATOMIC_CI_FEATURE__DEEP_NESTED__MAX_ITEM_COUNT: "9",
        ATOMIC_CI_BUS__AMQP__QUEUE_TYPE: "classic",
      },
    });
    expect(config.bus.maxBodyBytes).toBe(2048);
    expect(config.shutdownTimeoutMs).toBe(500);
    expect(config.feature.deepNested.maxItemCount).toBe(9);
    expect(config.bus.amqp.queueType).toBe("classic");
  });

  it("coerces by the key's schema: numbers, booleans, comma lists", () => {
    const config = loadConfig(schema, {
      ...base,
      env: { ATOMIC_CI_FEATURE__ENABLED: "true", ATOMIC_CI_FEATURE__RATIOS: "0.5, 2,", ATOMIC_CI_BUS__BINDINGS: "a.#, b.*.c" },
    });
    expect(config.feature.enabled).toBe(true);
    expect(config.feature.ratios).toEqual([0.5, 2]);
    expect(config.bus.bindings).toEqual(["a.#", "b.*.c"]);
    expect(loadConfig(schema, { ...base, env: { ATOMIC_CI_FEATURE__ENABLED: "false" } }).feature.enabled).toBe(false);
  });

  it("keeps strings that do not parse and reports them with the raw value", () => {
    const err = configError(() => loadConfig(schema, { ...base, env: { ATOMIC_CI_BUS__PREFETCH: "ten", ATOMIC_CI_FEATURE__ENABLED: "yes" } }));
    expect(err.message).toContain(`bus.prefetch (env ATOMIC_CI_BUS__PREFETCH): expected a number, got "ten"`);
    expect(err.message).toContain(`feature.enabled (env ATOMIC_CI_FEATURE__ENABLED): expected a boolean, got "yes"`);
    expect(err.code).toBe("CONFIG");
  });

  it("ignores ATOMIC_CI_CONFIG, ATOMIC_CI_TEST_* and other programs' variables", () => {
    const env = { ATOMIC_CI_CONFIG: "", ATOMIC_CI_TEST_AMQP_URL: "x", ATOMIC_CI_SHARED_DIR: "/srv", ATOMIC_CI_PYTHON: "python3", PATH: "/bin" };
    const config = loadConfig(commonConfigSchema, { ...base, env });
    expect(config.service).toBe("composer");
  });
});

describe("loadConfig strictness and errors", () => {
  it("rejects unknown keys from the file, naming key and source", () => {
    const file = yamlFile("http:\n  prot: 8081\nbogus: 1\n");
    const err = configError(() => loadConfig(commonConfigSchema, { ...base, file, env: {} }));
    expect(err.message).toContain(`http.prot (file ${file}): unknown key`);
    expect(err.message).toContain(`bogus (file ${file}): unknown key`);
  });

  it("rejects ATOMIC_CI_ variables that map to no key, and sections set as values", () => {
    const err = configError(() => loadConfig(commonConfigSchema, { ...base, env: { ATOMIC_CI_HTTP__PROT: "1", ATOMIC_CI_BUS: "x", ATOMIC_CI_BUS____URL: "y" } }));
    expect(err.message).toContain("http.prot (env ATOMIC_CI_HTTP__PROT): unknown key");
    expect(err.message).toContain("bus (env ATOMIC_CI_BUS): is a section");
    expect(err.message).toContain("(env ATOMIC_CI_BUS____URL): unknown key");
  });

  it("rejects unknown keys in the caller's overrides", () => {
    const err = configError(() => loadConfig(commonConfigSchema, { ...base, env: {}, overrides: { http: { hots: "x" } } }));
    expect(err.message).toContain("http.hots (override): unknown key");
  });

  it("keeps a service's extended schema strict", () => {
    const schema = commonConfigSchema.extend({ composer: z.strictObject({ workdir: z.string().default("/var/tmp") }).prefault({}) });
    const file = yamlFile("composer:\n  workdri: /srv\n");
    expect(configError(() => loadConfig(schema, { ...base, file, env: {} })).message).toContain(`composer.workdri (file ${file}): unknown key`);
    expect(loadConfig(schema, { ...base, env: { ATOMIC_CI_COMPOSER__WORKDIR: "/srv" } }).composer.workdir).toBe("/srv");
  });

  it("reports every problem at once, each with its own source", () => {
    const file = yamlFile("bus:\n  prefetch: many\n");
    const err = configError(() =>
      loadConfig(commonConfigSchema, { env: { ATOMIC_CI_LOG_LEVEL: "loud", ATOMIC_CI_HTTP__PORT: "70000" }, file }),
    );
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i]));
    expect(byPath["service"]).toMatchObject({ source: "not set" });
    expect(byPath["logLevel"]).toMatchObject({ source: "env ATOMIC_CI_LOG_LEVEL" });
    expect(byPath["logLevel"]?.message).toContain(`got "loud"`);
    expect(byPath["http.port"]).toMatchObject({ source: "env ATOMIC_CI_HTTP__PORT" });
    expect(byPath["http.port"]?.message).toContain("got 70000");
    expect(byPath["bus.prefetch"]).toMatchObject({ source: `file ${file}`, message: `expected a number, got "many"` });
    expect(err.issues).toHaveLength(4);
  });

  it("never echoes the value of a secret key", () => {
    const secret = "s3cr3t-pa55";
    const file = yamlFile(`redis:\n  url: 42\nbus:\n  amqp:\n    tls:\n      key: 7\n`);
    const err = configError(() =>
      loadConfig(commonConfigSchema, { ...base, file, env: { ATOMIC_CI_BUS__AMQP__URL: `http://user:${secret}@host`, NATS_URL: `nats:/${secret}` } }),
    );
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain("42");
    expect(err.message).toContain("bus.amqp.url (env ATOMIC_CI_BUS__AMQP__URL): must be a URL like amqp://host or amqps://host, got <redacted>");
    expect(err.message).toContain("bus.nats.url (env NATS_URL):");
    expect(err.message).toContain(`redis.url (file ${file}): expected a string, got <redacted>`);
    expect(err.message).toContain(`bus.amqp.tls.key (file ${file}): expected a string, got <redacted>`);
  });

  it("does not quote a broken YAML file (it may hold secrets)", () => {
    const file = yamlFile("bus:\n  amqp:\n    url: amqp://u:hunter2@h\n   bad: [\n");
    const err = configError(() => loadConfig(commonConfigSchema, { ...base, file, env: {} }));
    expect(err.message).toMatch(new RegExp(`\\(file ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\): invalid YAML at line \\d+, column \\d+`));
    expect(err.message).not.toContain("hunter2");
  });

  it("reports a missing file and a file that is not a mapping", () => {
    const missing = join(dir, "nope.yaml");
    expect(configError(() => loadConfig(commonConfigSchema, { ...base, file: missing, env: {} })).message).toContain(
      `(file) (file ${missing}): cannot read the config file (ENOENT)`,
    );
    const list = yamlFile("- a\n- b\n");
    expect(configError(() => loadConfig(commonConfigSchema, { ...base, file: list, env: {} })).message).toContain("the top level must be a mapping");
  });

  it("accepts an empty file", () => {
    expect(loadConfig(commonConfigSchema, { ...base, file: yamlFile(""), env: {} }).service).toBe("composer");
  });

  it("keeps __proto__ in a file a plain unknown key", () => {
    const file = yamlFile("__proto__:\n  polluted: true\n");
    expect(configError(() => loadConfig(commonConfigSchema, { ...base, file, env: {} })).message).toContain("__proto__");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});
