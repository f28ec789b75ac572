import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { DEAD_LETTER_HEADERS, encodeMessage } from "@atomic-ci/bus";
import { BASE_MESSAGE, prefixTopic } from "@atomic-ci/messages";
import { generateThrowawayKey, type ThrowawayKey } from "@atomic-ci/publish";
import { freePort, MemoryBackend, type DemoBackend } from "../demo/backend.js";
import { ARTIFACTS_URL, demoOverrides, publicDirOf, testRunsOf } from "../demo/config.js";
import { runDeliveryDemo, type DeliveredSummary, type HeldSummary } from "../demo/delivery.js";
import { runGatingDemo, type GatingSummary } from "../demo/gating.js";
import { DEMO_MESSAGES } from "../demo/messages.js";
import { cloneDefinition, runPipelineDemo, type ComposeSummary } from "../demo/pipeline.js";
import { AmqpBackend, DEFAULT_AMQP_URL, DEFAULT_REDIS_URL } from "../demo/processes.js";
import { buildFixtureWorld } from "../demo/world.js";
import { EXIT } from "../errors.js";
import { printJson } from "../io.js";
import { createProgress, silentProgress, type Progress, type ProgressSettings } from "../progress.js";
import { DEMO_STEPS, demoSteps } from "../demo/steps.js";
import type { ProcessEnv } from "../services.js";

const PREFIX = "org.fedoraproject.prod";

export interface DemoOptions {
  json?: boolean;
  env: ProcessEnv;
  /** Default `.cache/demo` under the working directory: logs and each run's repository. */
  cacheDir?: string;
  /** `memory` (default): every service in this process; `amqp`: one process per service on RabbitMQ and Redis. */
  bus?: "memory" | "amqp";
  /** `--bus amqp`: the broker (default AMQP_URL, else amqp://guest:guest@127.0.0.1:5672). */
  amqpUrl?: string;
  /** `--bus amqp`: Redis (default REDIS_URL, else redis://127.0.0.1:6379). */
  redisUrl?: string;
  /** Where the demo's lines go; default stdout (the benchmark keeps them for later). */
  say?: (line?: string) => void;
  /** Step n/N of the demo on stderr (a bar at a terminal, plain lines otherwise); none when absent. */
  progress?: ProgressSettings;
}

/** The last line of `demo --json` (docs/demo.md); the end-to-end tests read it. */
export interface DemoSummary {
  ok: boolean;
  error?: string;
  bus: "memory" | "amqp";
  /** Where the services ran (processes, queues, exchange), from the backend. */
  run?: Record<string, unknown>;
  seconds: number;
  world: string;
  definition: string;
  dead_lettered: number;
  baseline: Pick<ComposeSummary, "repo" | "ref" | "commit" | "os_version"> | null;
  composes: ComposeSummary[];
  gating: GatingSummary[];
  public_dir: string;
  public_key: string;
  delivered: DeliveredSummary[];
  held: HeldSummary[];
  /** Services that did not stop cleanly: not a failure. */
  notes: string[];
}

function stdoutLine(line = ""): void {
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

/**
 * The services, in the order they join: the pipeline part's; the gates' and the publisher once it
 * is shown (they test and judge every compose from then on); the image-builder for the delivery
 * part, so that the good build's compose is the one imaged and booted (one boot in the demo).
 */
const PIPELINE = ["trigger-listener", "composer"];
const GATES = ["test-runner", "gatekeeper", "publisher"];
const DELIVERY = ["image-builder"];

/** The bus part, short: broken messages are dead-lettered with their reasons and the service goes on. */
async function badMessages(backend: DemoBackend, say: (line?: string) => void): Promise<number> {
  const raw = DEMO_MESSAGES.filter((m) => m.raw);
  say("Bad input never stops a service: these go to the dead-letter queue with a reason");
  for (const m of raw) {
    if (!m.raw) continue;
    // Past our publisher's validation, the way a broken client would send it.
    const wire = encodeMessage(BASE_MESSAGE, {}, { routingKey: prefixTopic(PREFIX, m.topic) });
    wire.body = Buffer.from(m.raw.body, "utf8");
    wire.properties.contentType = m.raw.contentType;
    await backend.sendRaw(wire);
  }
  const dead = await backend.deadLetters("trigger-listener", raw.length, 15_000);
  for (const d of dead) say(`  ✗ ${String(d.headers[DEAD_LETTER_HEADERS.reason])}: ${String(d.headers[DEAD_LETTER_HEADERS.detail]).slice(0, 110)}`);
  return dead.length === raw.length ? dead.length : -dead.length;
}

/**
 * The demo on the fixture world. It shows bad messages dead-lettered, then the pipeline: a Koji
 * build composed into an OSTree commit, a pinned older version composed, a no-op recompose
 * reusing the commit; then the gates: the good build passes both, a broken build is rejected
 * naming its failing test, a broken combination is isolated, a waiver lets the known failure
 * through. By default every service runs in this process on the in-memory bus; `bus: "amqp"`
 * runs one process per service on RabbitMQ and Redis. Exit 1 when anything it shows did not happen.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const progress = options.progress ? createProgress(DEMO_STEPS.length, options.progress) : silentProgress;
  try {
    return await demo(options, progress);
  } finally {
    // Whatever failed: the bar's redraw timer must not keep the process alive.
    progress.stop();
  }
}

async function demo(options: DemoOptions, progress: Progress): Promise<number> {
  const started = Date.now();
  const { say, step } = demoSteps(options.say ?? stdoutLine, progress);
  /** When a part starts, from the demo's start: where the time goes. */
  const at = () => `[${((Date.now() - started) / 1000).toFixed(1)} s]`;
  const mode = options.bus ?? "memory";
  const cacheDir = options.cacheDir ?? join(process.cwd(), ".cache", "demo");
  const dir = await runDirectory(cacheDir);
  const logFile = mode === "memory" ? join(dir, "services.log") : join(dir, "logs");

  say(mode === "memory" ? "atomic-ci demo: the six services in one process on the embedded (in-memory) bus" : "atomic-ci demo: one process per service on RabbitMQ and Redis");
  step(0);
  say("Fixture world (a miniature Fedora Atomic Host of real RPMs; built once, then cached) ...");
  const world = await buildFixtureWorld({ env: options.env });
  say(`  ${world.root} (${world.cached ? "cached" : `built in ${world.buildSeconds} s`}): ${world.builds.length} builds, definition ${world.hostDefinition.ref}`);
  const definition = await cloneDefinition(world, dir, options.env);
  // The publisher signs with a key made for this run; users would import its public half.
  const key: ThrowawayKey = await generateThrowawayKey(join(dir, "gpg"), { env: options.env, timeoutMs: 60_000 });
  const overrides = demoOverrides({ world, dir, definition, gatekeeperPort: await freePort(), gpg: { homedir: key.homedir, keyId: key.keyId } });
  const logs = mode === "memory" ? createWriteStream(logFile, { flags: "w" }) : undefined;

  let backend: DemoBackend | undefined;
  let composes: ComposeSummary[] = [];
  let baseline: ComposeSummary | undefined;
  const gating: GatingSummary[] = [];
  const delivery: { delivered: DeliveredSummary[]; held: HeldSummary[] } = { delivered: [], held: [] };
  let failure: string | undefined;
  let deadLettered = 0;
  const notes: string[] = [];
  // Ctrl-C or a TERM: stop what was started (the processes of `--bus amqp` must not outlive the demo).
  const interrupted = new Promise<never>((_, reject) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => reject(new Error(`interrupted (${signal})`)));
  });
  interrupted.catch(() => undefined);
  try {
    backend = logs
      ? new MemoryBackend(overrides, options.env, logs)
      : await AmqpBackend.create({ amqpUrl: options.amqpUrl ?? DEFAULT_AMQP_URL, redisUrl: options.redisUrl ?? DEFAULT_REDIS_URL, dir, overrides, env: options.env });
    const b = backend;
    await Promise.race([
      interrupted,
      (async () => {
        step(1);
        await b.start(PIPELINE);
        say(`  ${b.description}`);
        say(`  services: ${b.started.join(", ")} (${GATES.join(", ")} join for the gates, ${DELIVERY.join(", ")} for delivery)`);
        say();
        step(2);
        deadLettered = await badMessages(b, say);
        if (deadLettered < 0) failure = `only ${-deadLettered} bad message(s) were dead-lettered`;
        say();
        say(`The pipeline (trigger-listener → composer, real dnf depsolve and ostree commits) ${at()}:`);
        ({ baseline, composes } = await runPipelineDemo({ world, bus: b.bus, watcher: b.watcher, definition, env: options.env, say }));
        const goodCompose = composes.find((c) => c.step === "koji-build");
        if (!goodCompose) throw new Error("no compose of the candidate build");
        say();
        say(`The gates (test-runner → gatekeeper: each compose tested in the sandbox, Greenwave-style decisions) ${at()}:`);
        await b.start(GATES);
        say(`  ${GATES.join(", ")} started: tests from the world's dist-git and the definition, policies and delivery policy from the definition`);
        const gatekeeperApi = (overrides["gatekeeper"]?.["gatekeeper"] as { api: { port: number } }).api;
        const deps = {
          world,
          bus: b.bus,
          watcher: b.watcher,
          definition,
          env: options.env,
          say,
          gatekeeperUrl: `http://127.0.0.1:${gatekeeperApi.port}`,
          testRuns: { dir: testRunsOf(dir), artifactsUrl: ARTIFACTS_URL },
          goodCompose,
        };
        const { brokenCommit } = await runGatingDemo(deps, gating);
        say();
        say(`Delivery (image-builder → test-runner's boot → gatekeeper's image gate → publisher, into ${publicDirOf(dir)}) ${at()}:`);
        await b.start(DELIVERY);
        await runDeliveryDemo({ ...deps, brokenCommit }, gating, delivery);
      })(),
    ]);
  } catch (err) {
    failure ??= err instanceof Error ? err.message : String(err);
  } finally {
    progress.stop();
    notes.push(...((await backend?.stop("demo finished")) ?? []));
    logs?.end();
    await key.dispose();
  }

  say();
  for (const note of notes) say(`  note: ${note}`);
  say(failure ? `✗ demo failed: ${failure}` : `✓ done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  say(`  pipeline OSTree repository ${join(dir, "repo")}; public tree ${publicDirOf(dir)} (signing key ${key.publicKeyPath})`);
  say(`  service logs (JSON lines) ${logFile}`);
  if (options.json) {
    const summary: DemoSummary = {
      ok: !failure,
      ...(failure ? { error: failure } : {}),
      bus: mode,
      ...(backend ? { run: backend.report() } : {}),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      world: world.root,
      definition,
      dead_lettered: Math.abs(deadLettered),
      baseline: baseline ? { repo: baseline.repo, ref: baseline.ref, commit: baseline.commit, os_version: baseline.os_version } : null,
      composes,
      gating,
      public_dir: publicDirOf(dir),
      public_key: key.publicKeyPath,
      delivered: delivery.delivered,
      held: delivery.held,
      notes,
    };
    printJson(summary);
  }
  return failure ? EXIT.failure : EXIT.ok;
}
