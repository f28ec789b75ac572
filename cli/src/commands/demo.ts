import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DEAD_LETTER_HEADERS, encodeMessage, MemoryBroker } from "@atomic-ci/bus";
import type { GatekeeperServiceDefinition } from "@atomic-ci/gatekeeper";
import { BASE_MESSAGE, prefixTopic } from "@atomic-ci/messages";
import { queueOf, runServices, type GroupHandle, type ServiceDefinition, type ServiceHandle } from "@atomic-ci/runtime";
import { runGatingDemo, type GatingSummary } from "../demo/gating.js";
import { DEMO_MESSAGES } from "../demo/messages.js";
import { cloneDefinition, runPipelineDemo, type ComposeSummary } from "../demo/pipeline.js";
import { Watcher } from "../demo/watch.js";
import { buildFixtureWorld, type FixtureWorld } from "../demo/world.js";
import { EXIT } from "../errors.js";
import { printJson } from "../io.js";
import { SERVICES, type ProcessEnv } from "../services.js";

const PREFIX = "org.fedoraproject.prod";
const http = { host: "127.0.0.1", port: 0 };
/** Where the test-runner says its logs are (its default); the demo reads them back from `tests/runs`. */
const ARTIFACTS_URL = "http://localhost:8081/artifacts/";

export interface DemoOptions {
  json?: boolean;
  env: ProcessEnv;
  /** Default `.cache/demo` under the working directory: logs and each run's repository. */
  cacheDir?: string;
}

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** Each run gets its own directory (its repository is named in the summary); runs older than a day go. */
async function runDirectory(cacheDir: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  for (const name of await readdir(cacheDir)) {
    const path = join(cacheDir, name);
    if (name.startsWith("run-") && Date.now() - (await stat(path)).mtimeMs > 86_400_000) await rm(path, { recursive: true, force: true });
  }
  return mkdtemp(join(cacheDir, "run-"));
}

/** The gates' services: configured for the world, they join once the pipeline part is shown (they test every compose from then on). */
const GATES = ["test-runner", "gatekeeper"];

async function startServices(world: FixtureWorld, dir: string, definition: string, broker: MemoryBroker, options: DemoOptions, logs: NodeJS.WritableStream): Promise<GroupHandle> {
  const common = { env: {}, overrides: { http } };
  return runServices(
    Object.entries(SERVICES)
      .filter(([name]) => !GATES.includes(name))
      .map(([, create]) => create(options.env)),
    {
      broker,
      config: common,
      logDestination: logs,
      processMetrics: false,
      perService: {
        // Their own APIs on free ports: the demo must not collide with anything already listening.
        "image-builder": { config: { env: {}, overrides: { http, imageBuilder: { outDir: join(dir, "images"), workDir: join(dir, "image-work") } } } },
        "trigger-listener": {
          config: { env: {}, overrides: { http, triggerListener: { hostPackages: world.hostDefinition.resolved, candidateTag: world.koji.candidateTag, branch: world.hostDefinition.branch } } },
        },
        composer: {
          config: {
            env: {},
            overrides: {
              http,
              composer: {
                definition: { repo: definition, branch: world.hostDefinition.branch },
                workDir: join(dir, "work"),
                ostreeRepo: join(dir, "repo"),
                candidates: { id: world.repos.candidates.id, url: world.repos.candidates.url },
              },
            },
          },
        },
      },
    },
  );
}

/**
 * test-runner and gatekeeper as pipeline-gate.test.ts has them: tests from the world's dist-git
 * and the demo's definition (the one the composer composes, pins included), policies from that
 * definition, the world's dist-git for gating.yaml. Started after the pipeline part, so that its
 * composes (a baseline of every package among them) are not all tested: the gating part asks for
 * what it shows.
 */
async function startGates(
  world: FixtureWorld,
  dir: string,
  definition: string,
  broker: MemoryBroker,
  options: DemoOptions,
  logs: NodeJS.WritableStream,
): Promise<{ group: GroupHandle; gatekeeperUrl: string }> {
  const services: ServiceDefinition[] = GATES.flatMap((name) => {
    const create = SERVICES[name];
    return create ? [create(options.env)] : [];
  });
  const definitionOf = { repo: definition, branch: world.hostDefinition.branch };
  const api = { host: "127.0.0.1", port: 0 };
  const group = await runServices(services, {
    broker,
    config: { env: {}, overrides: { http } },
    logDestination: logs,
    processMetrics: false,
    perService: {
      "test-runner": {
        config: { env: {}, overrides: { http, testRunner: { workDir: join(dir, "tests"), artifactsUrl: ARTIFACTS_URL, distGit: { dir: world.distGit.root }, definition: definitionOf, api } } },
      },
      gatekeeper: {
        config: {
          env: {},
          overrides: {
            http,
            // `<baseDir>/rpms/<name>`: the world's dist-git root is the `rpms` directory.
            gatekeeper: { policies: definitionOf, distGit: { baseDir: dirname(world.distGit.root), branch: world.distGit.branch }, api },
          },
        },
      },
    },
  });
  const port = (services.find((s) => s.name === "gatekeeper") as GatekeeperServiceDefinition | undefined)?.running?.apiPort;
  if (port === undefined) {
    await group.shutdown("the gatekeeper's API is not listening");
    throw new Error("the gatekeeper's API is not listening");
  }
  return { group, gatekeeperUrl: `http://127.0.0.1:${port}` };
}

/** The bus part, short: broken messages are dead-lettered with their reasons and the service goes on. */
async function badMessages(listener: ServiceHandle, broker: MemoryBroker): Promise<number> {
  const raw = DEMO_MESSAGES.filter((m) => m.raw);
  say("Bad input never stops a service: these go to the dead-letter queue with a reason");
  for (const m of raw) {
    if (!m.raw) continue;
    // Past our publisher's validation, the way a broken client would send it.
    const wire = encodeMessage(BASE_MESSAGE, {}, { routingKey: prefixTopic(PREFIX, m.topic) });
    wire.body = Buffer.from(m.raw.body, "utf8");
    wire.properties.contentType = m.raw.contentType;
    await listener.bus.transport.send(wire, "amq.topic");
  }
  const queue = `${queueOf(listener.config)}.dead-letter`;
  const deadline = Date.now() + 10_000;
  while (broker.peek(queue).length < raw.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const dead = broker.peek(queue);
  for (const d of dead) say(`  ✗ ${String(d.properties.headers[DEAD_LETTER_HEADERS.reason])}: ${String(d.properties.headers[DEAD_LETTER_HEADERS.detail]).slice(0, 110)}`);
  return dead.length === raw.length ? dead.length : -dead.length;
}

/**
 * The embedded default: every service in this process on the in-memory bus. It shows bad
 * messages dead-lettered, then the pipeline on the fixture world: a Koji build composed into
 * an OSTree commit, a pinned older version composed, a no-op recompose reusing the commit;
 * then the gates: the good build passes both, a broken build is rejected naming its failing
 * test, a broken combination is isolated, a waiver lets the known failure through.
 * Exit 1 when anything it shows did not happen.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const started = Date.now();
  const cacheDir = options.cacheDir ?? join(process.cwd(), ".cache", "demo");
  const dir = await runDirectory(cacheDir);
  const logFile = join(dir, "services.log");
  const logs = createWriteStream(logFile, { flags: "w" });

  say("atomic-ci demo: the six services in one process on the embedded (in-memory) bus");
  say("Fixture world (a miniature Fedora Atomic Host of real RPMs; built once, then cached) ...");
  const world = await buildFixtureWorld({ env: options.env });
  say(`  ${world.root} (${world.cached ? "cached" : `built in ${world.buildSeconds} s`}): ${world.builds.length} builds, definition ${world.hostDefinition.ref}`);
  const definition = await cloneDefinition(world, dir, options.env);
  const broker = new MemoryBroker();
  const watcher = new Watcher(broker);
  const group = await startServices(world, dir, definition, broker, options, logs);
  const listener = group.services[0];
  if (!listener) throw new Error("trigger-listener did not start");
  say(`  services: ${group.services.map((s) => s.name).join(", ")} (${GATES.join(" and ")} join for the gates)`);
  say();

  let composes: ComposeSummary[] = [];
  let baseline: ComposeSummary | undefined;
  const gating: GatingSummary[] = [];
  let failure: string | undefined;
  const deadLettered = await badMessages(listener, broker);
  if (deadLettered < 0) failure = `only ${-deadLettered} bad message(s) were dead-lettered`;
  say();
  say("The pipeline (trigger-listener → composer, real dnf depsolve and ostree commits):");
  try {
    ({ baseline, composes } = await runPipelineDemo({ world, bus: listener.bus, watcher, definition, env: options.env, say }));
  } catch (err) {
    failure ??= err instanceof Error ? err.message : String(err);
  }
  const goodCompose = composes.find((c) => c.step === "koji-build");
  let gates: GroupHandle | undefined;
  if (!failure && goodCompose) {
    say();
    say("The gates (test-runner → gatekeeper: each compose tested in the sandbox, Greenwave-style decisions):");
    try {
      const started = await startGates(world, dir, definition, broker, options, logs);
      gates = started.group;
      say(`  ${gates.services.map((s) => s.name).join(" and ")} started: tests from the world's dist-git and the definition, policies from the definition`);
      const testRuns = { dir: join(dir, "tests", "runs"), artifactsUrl: ARTIFACTS_URL };
      await runGatingDemo({ world, bus: listener.bus, watcher, definition, env: options.env, say, gatekeeperUrl: started.gatekeeperUrl, testRuns, goodCompose }, gating);
    } catch (err) {
      failure ??= err instanceof Error ? err.message : String(err);
    }
  }
  // Downstream first: the gates, then the pipeline.
  const gatesResult = gates ? await gates.shutdown("demo finished") : undefined;
  if (gatesResult && gatesResult.exitCode !== 0) failure ??= `the gates' shutdown exited ${gatesResult.exitCode}`;
  const result = await group.shutdown("demo finished");
  logs.end();
  if (result.exitCode !== 0) failure ??= `shutdown exited ${result.exitCode}`;

  say();
  say(failure ? `✗ demo failed: ${failure}` : `✓ done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  say(`  OSTree repository ${join(dir, "repo")}; service logs (JSON lines) ${logFile}`);
  if (options.json) {
    printJson({ ok: !failure, ...(failure ? { error: failure } : {}), world: world.root, definition, dead_lettered: Math.abs(deadLettered), baseline: baseline ? { repo: baseline.repo, ref: baseline.ref, commit: baseline.commit, os_version: baseline.os_version } : null, composes, gating });
  }
  return failure ? EXIT.failure : EXIT.ok;
}
