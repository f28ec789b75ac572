// Helpers for the pipeline suites: the start-up block they all share — the fixture world, a
// temp directory, one in-memory broker with a watcher queue bound before anything is published,
// trigger-listener + composer (+ the services a suite adds) configured for the world — and its
// teardown. Each suite gets its own broker, so nothing it publishes reaches another suite.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { pipelineTopic, watchBroker, type Seen, type Watcher } from "./watch.js";
import { MemoryBroker } from "@atomic-ci/bus";
import { createComposerService } from "@atomic-ci/composer";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";
import { buildFixtureWorld, pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";

const run = promisify(execFile);

export type { Seen, Watcher } from "./watch.js";
export { pipelineTopic } from "./watch.js";

/** Config over the fixture world's, by service and section (merged section by section: pipelinePerService's `extra`). */
export type ServiceOverrides = Record<string, Record<string, unknown>>;

/** Services a suite runs after the trigger-listener and the composer. */
export type ExtraServices = Parameters<typeof runServices>[0];

/** A log destination that drops everything. */
export const quietLogs = (): Writable => new Writable({ write: (_chunk, _enc, done) => done() });

export interface PipelineOptions {
  /** Unique per suite: names the temp directory (`atomic-ci-<name>-`) and the watcher's queue (`test.<name>-watch`). */
  name: string;
  /** Started after the trigger-listener and the composer, in this order (and shut down in it). */
  services?: ExtraServices;
  /** Config over the fixture world's; a function gets the run's directory. */
  overrides?: ServiceOverrides | ((dir: string) => ServiceOverrides);
  /** What the watcher binds; default every pipeline message. */
  watch?: readonly string[];
  /** How `seen` names a routing key; default the routing key itself. */
  topicOf?: (routingKey: string) => string;
  /** The watcher's default wait. */
  watchTimeoutMs?: number;
  /** Where the services log; default nowhere. */
  logDestination?: Writable;
  /** A directory made beforehand (for what must exist before the services start); removed at stop like the default one. */
  dir?: string;
  /** Default buildFixtureWorld()'s. */
  world?: FixtureWorld;
}

export interface PipelineRun {
  world: FixtureWorld;
  /** Receives the composer's repository, every service's scratch space and output; removed at stop. */
  dir: string;
  broker: MemoryBroker;
  group: GroupHandle;
  /** The trigger-listener (the first service): publishes as any service would. */
  listener: ServiceHandle;
  watcher: Watcher;
  /** Every message the watcher has seen so far, in order. */
  seen: Seen[];
  /** Wait until a message matching `match` was seen (at index `from` or later); returns it. */
  waitFor(match: (m: Seen) => boolean, timeoutMs?: number, from?: number): Promise<Seen>;
  /** Publish under Fedora's production prefix, as Fedora's services do. */
  publishFedora(message: { topic: string; body: unknown }): Promise<void>;
  /** Shut the services down (in start order), then `cleanup` (stand-ins, Redis keys), then remove `dir`. */
  stop(cleanup?: () => Promise<void>): Promise<void>;
}

/** A temp directory for a suite's run (pass it as `dir` when something needs it before the services start). */
export function pipelineDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `atomic-ci-${name}-`));
}

/** Start the fixture world's trigger-listener, composer and `services` on a broker of their own. */
export async function startPipelineRun(options: PipelineOptions): Promise<PipelineRun> {
  const world = options.world ?? (await buildFixtureWorld());
  const dir = options.dir ?? (await pipelineDir(options.name));
  const broker = new MemoryBroker();
  const watcher = watchBroker(broker, `test.${options.name}-watch`, options.watch ?? ["#.pipeline.#"], {
    ...(options.topicOf ? { topicOf: options.topicOf } : {}),
    ...(options.watchTimeoutMs === undefined ? {} : { timeoutMs: options.watchTimeoutMs }),
  });
  const overrides = typeof options.overrides === "function" ? options.overrides(dir) : options.overrides;
  let group: GroupHandle;
  try {
    group = await runServices([createTriggerListenerService(), createComposerService({ env: process.env }), ...(options.services ?? [])], {
      broker,
      logDestination: options.logDestination ?? quietLogs(),
      processMetrics: false,
      perService: pipelinePerService(world, dir, overrides),
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const listener = group.services[0];
  if (!listener) throw new Error("trigger-listener did not start");
  return {
    world,
    dir,
    broker,
    group,
    listener,
    watcher,
    seen: watcher.seen,
    waitFor: (match, timeoutMs, from) => watcher.waitFor(match, timeoutMs, from),
    async publishFedora(message) {
      await listener.bus.publish(message.topic, message.body, { topicPrefix: "org.fedoraproject.prod" });
    },
    async stop(cleanup) {
      try {
        await group.shutdown("test done");
        await cleanup?.();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** What `startPipeline` returns (kept for callers of the two-service form). */
export type Pipeline = Pick<PipelineRun, "group" | "listener" | "seen" | "waitFor" | "publishFedora">;

/** The trigger-listener and the composer on `world`; `dir` receives the composer's repository and scratch space. */
export function startPipeline(world: FixtureWorld, dir: string): Promise<Pipeline> {
  return startPipelineRun({ name: "pipeline", world, dir, topicOf: pipelineTopic });
}

export async function ostreeRevParse(repo: string, rev: string): Promise<string> {
  const { stdout } = await run("ostree", ["rev-parse", `--repo=${repo}`, rev]);
  return stdout.trim();
}
