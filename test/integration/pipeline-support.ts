// Helpers for the pipeline tests: trigger-listener + composer on one in-memory bus, configured
// for a fixture world, and a watcher queue that sees every pipeline message they publish.
import { execFile } from "node:child_process";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { MemoryBroker } from "@atomic-ci/bus";
import { createComposerService } from "@atomic-ci/composer";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";
import { pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";

const run = promisify(execFile);
const WATCH = "test.pipeline-watch";

export interface Seen {
  topic: string;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

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
  // Bound before anything is published, so the watcher misses nothing.
  broker.bind(WATCH, "amq.topic", "#.pipeline.#");
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  const group = await runServices([createTriggerListenerService(), createComposerService({ env: process.env })], {
    broker,
    logDestination: quiet,
    processMetrics: false,
    perService: pipelinePerService(world, dir),
  });
  const listener = group.services[0];
  if (!listener) throw new Error("trigger-listener did not start");
  const seen: Seen[] = [];
  const drain = () => {
    for (const wire of broker.take(WATCH)) {
      const body = JSON.parse(wire.body.toString("utf8")) as Record<string, unknown>;
      seen.push({ topic: wire.routingKey.replace(/^.*?\.pipeline\./, "pipeline."), body, headers: wire.properties.headers });
    }
  };
  return {
    group,
    listener,
    seen,
    async waitFor(match, timeoutMs = 60_000, from = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        drain();
        const found = seen.slice(from).find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out; seen: ${seen.map((s) => s.topic).join(", ")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async publishFedora(message) {
      await listener.bus.publish(message.topic, message.body, { topicPrefix: "org.fedoraproject.prod" });
    },
  };
}

export async function ostreeRevParse(repo: string, rev: string): Promise<string> {
  const { stdout } = await run("ostree", ["rev-parse", `--repo=${repo}`, rev]);
  return stdout.trim();
}
