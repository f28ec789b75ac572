// Helpers for the pipeline tests: trigger-listener + composer on one in-memory bus, configured
// for a fixture world, and a watcher queue that sees every pipeline message they publish.
import { execFile } from "node:child_process";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { pipelineTopic, watchBroker, type Seen } from "./watch.js";
import { MemoryBroker } from "@atomic-ci/bus";
import { createComposerService } from "@atomic-ci/composer";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";
import { pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";

const run = promisify(execFile);
const WATCH = "test.pipeline-watch";

export type { Seen } from "./watch.js";

export interface Pipeline {
  group: GroupHandle;
  listener: ServiceHandle;
  /** Every pipeline message published so far, in order. */
  seen: Seen[];
  /** Wait until a message matching `match` was seen (after `from`); returns it. */
  waitFor(match: (m: Seen) => boolean, timeoutMs?: number, from?: number): Promise<Seen>;
  publishFedora(message: { topic: string; body: unknown }): Promise<void>;
}

/** Start the two services; `dir` receives the composer's repository and scratch space. */
export async function startPipeline(world: FixtureWorld, dir: string): Promise<Pipeline> {
  const broker = new MemoryBroker();
  const watcher = watchBroker(broker, WATCH, ["#.pipeline.#"], { topicOf: pipelineTopic });
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  const group = await runServices([createTriggerListenerService(), createComposerService({ env: process.env })], {
    broker,
    logDestination: quiet,
    processMetrics: false,
    perService: pipelinePerService(world, dir),
  });
  const listener = group.services[0];
  if (!listener) throw new Error("trigger-listener did not start");
  return {
    group,
    listener,
    seen: watcher.seen,
    waitFor: (match, timeoutMs, from) => watcher.waitFor(match, timeoutMs, from),
    async publishFedora(message) {
      await listener.bus.publish(message.topic, message.body, { topicPrefix: "org.fedoraproject.prod" });
    },
  };
}

export async function ostreeRevParse(repo: string, rev: string): Promise<string> {
  const { stdout } = await run("ostree", ["rev-parse", `--repo=${repo}`, rev]);
  return stdout.trim();
}
