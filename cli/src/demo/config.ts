// How the demo configures each service, in one place for both modes: the fixture world's
// overrides (test/fixture-world/src/pipeline-config.ts, which the pipeline tests use too) with the
// demo's own definition clone, plus what the demo adds. In memory mode they are `runServices`'
// overrides; with `--bus amqp` each service's become its config file, with the broker, Redis and
// the run's own exchange, queue and key names added (./processes.ts).
import { join } from "node:path";
import { pipelinePerService, type FixtureWorld } from "./world.js";

export type Overrides = Record<string, unknown>;
/** Config overrides by service name. */
export type ServiceOverrides = Record<string, Overrides>;

/** The test-runner's default `artifactsUrl`: the demo reads the logs it names back from `<test-runner workDir>/runs`. */
export const ARTIFACTS_URL = "http://localhost:8081/artifacts/";

export interface DemoConfigInput {
  world: FixtureWorld;
  /** The run directory: everything the services write goes under it. */
  dir: string;
  /** The demo's clone of the host definition (pins and delivery policy edits are committed there). */
  definition: string;
  /** The gatekeeper's API port, fixed up front so that the publisher can be told where it is. */
  gatekeeperPort: number;
  /** The publisher's signing key (a throwaway key made for the run). */
  gpg: { homedir: string; keyId: string };
}

/** The run's public tree (what users would be served): OSTree repositories, release metadata, images. */
export const publicDirOf = (dir: string) => join(dir, "public");

/** Where the run's test-runner keeps its runs (logs the demo reads back). */
export const testRunsOf = (dir: string) => join(dir, "test-work", "runs");

/** Each service's overrides for the demo, by name: the same in both modes. */
export function demoOverrides(input: DemoConfigInput): ServiceOverrides {
  const { world, dir, definition, gatekeeperPort, gpg } = input;
  const extra: ServiceOverrides = {
    "test-runner": { testRunner: { artifactsUrl: ARTIFACTS_URL } },
    gatekeeper: { gatekeeper: { api: { host: "127.0.0.1", port: gatekeeperPort } } },
    // Only what passed the compose gate gets images; the qcow2 is the one booted and delivered.
    "image-builder": { imageBuilder: { trigger: "compose-gate", formats: ["qcow2"] } },
    publisher: {
      publisher: {
        publicDir: publicDirOf(dir),
        gpg,
        gatekeeperUrl: `http://127.0.0.1:${gatekeeperPort}`,
        definition: { repo: definition, branch: world.hostDefinition.branch },
        // A lifted freeze is seen within a second, not at the default minute.
        tickSeconds: 1,
        // The qcow2 is compressed already (qemu-img -c): xz gains 2 % at any level, -0 is the fastest.
        compressionLevel: 0,
      },
    },
  };
  const perService = pipelinePerService(world, dir, extra, { definition });
  return Object.fromEntries(Object.entries(perService).map(([name, { config }]) => [name, config.overrides]));
}

/** `{a: {b: 1}}` + `{a: {c: 2}}` → `{a: {b: 1, c: 2}}`: sections merged key by key, other values replaced. */
export function mergeOverrides(base: Overrides, extra: Overrides): Overrides {
  const merged: Overrides = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeOverrides(current, value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
