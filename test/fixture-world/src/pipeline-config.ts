// How to point each pipeline service at a fixture world: the config overrides the demo and
// the pipeline tests give `runServices`, in one place. Paths the services write go under `dir`;
// every HTTP server binds a free loopback port.
import { dirname } from "node:path";
import { BUILD_MACROS } from "./rpms.js";
import type { FixtureWorld } from "./world.js";

type Overrides = Record<string, unknown>;

const http = { host: "127.0.0.1", port: 0 };
const api = { host: "127.0.0.1", port: 0 };

/** What a caller may change in the services' config (the demo composes its own clone of the definition). */
export interface PipelineConfigOptions {
  /** The host definition repository the composer, test-runner and gatekeeper read; default the world's. */
  definition?: string;
}

/** Each service's config overrides for `world`, by service name. */
export function pipelineOverrides(world: FixtureWorld, dir: string, options: PipelineConfigOptions = {}): Record<string, Overrides> {
  const definition = { repo: options.definition ?? world.hostDefinition.path, branch: world.hostDefinition.branch };
  return {
    "trigger-listener": {
      http,
      triggerListener: {
        hostPackages: world.hostDefinition.resolved,
        candidateTag: world.koji.candidateTag,
        branch: world.hostDefinition.branch,
        // The world's definition repository has no namespace (`fedora-atomic`).
        definitionRepo: world.hostDefinition.name,
      },
    },
    composer: {
      http,
      composer: {
        definition,
        workDir: `${dir}/compose-work`,
        ostreeRepo: `${dir}/repo`,
        candidates: { id: world.repos.candidates.id, url: world.repos.candidates.url },
        // Spec changes are built from the world's dist-git (`<root>/rpms/<name>`) and lookaside, with its build system's macros.
        scratchBuilds: { distGit: dirname(world.distGit.root), lookaside: world.lookaside.root, macros: BUILD_MACROS },
      },
    },
    // Only the composer's repository is built from: a message naming another place is dead-lettered.
    "image-builder": { http, imageBuilder: { outDir: `${dir}/images`, workDir: `${dir}/image-work`, repoRoots: [`${dir}/repo`] } },
    // The test-runner reads `<distGit.dir>/<name>`, the gatekeeper `<baseDir>/rpms/<name>`.
    "test-runner": { http, testRunner: { workDir: `${dir}/test-work`, distGit: { dir: world.distGit.root }, definition, api, containers: { imageStore: world.containers.store } } },
    gatekeeper: { http, gatekeeper: { policies: definition, distGit: { baseDir: dirname(world.distGit.root), branch: world.distGit.branch }, api } },
    // The gatekeeper's URL and the signing key are known only at run time: the caller adds `publisher.gatekeeperUrl` and `publisher.gpg`.
    publisher: { http, publisher: { publicDir: `${dir}/public`, definition } },
  };
}

/**
 * `runServices`' `perService` for `world`: the overrides above, with `extra` merged into
 * them section by section (e.g. `{ "test-runner": { testRunner: { artifactsUrl } } }`).
 */
export function pipelinePerService(
  world: FixtureWorld,
  dir: string,
  extra: Record<string, Overrides> = {},
  options: PipelineConfigOptions = {},
): Record<string, { config: { env: Record<string, string>; overrides: Overrides } }> {
  const base = pipelineOverrides(world, dir, options);
  const perService: Record<string, { config: { env: Record<string, string>; overrides: Overrides } }> = {};
  for (const [service, overrides] of Object.entries(base)) {
    const merged: Overrides = { ...overrides };
    for (const [section, value] of Object.entries(extra[service] ?? {})) {
      const current = merged[section];
      merged[section] = isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
    }
    perService[service] = { config: { env: {}, overrides: merged } };
  }
  return perService;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
