// Test-only: a TriggerListener outside the runtime, with a bus that records what it publishes
// (and can be held, so that two listeners decide on the same state before either saves).
import { Writable } from "node:stream";
import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import { createLogger } from "@atomic-ci/telemetry";
import type { TriggerInput, TriggerRules } from "./core/types.js";
import { TriggerListener } from "./listener.js";
import type { ChangeSetStore } from "./store.js";

export const quietLogger = createLogger({ level: "silent", service: "trigger-listener-test" }, new Writable({ write: (_c, _e, done) => done() }));

export const RULES: TriggerRules = { candidateTag: "f41-updates-candidate", branch: "f41", definitionRepo: "atomic/host-definition", batchWindowMs: 0, retentionMs: 3_600_000 };

export interface RecordingBus {
  published: { topic: string; body: Record<string, unknown> }[];
  publish(topic: string, body: unknown): Promise<void>;
  /** Until the returned release() is called, publishes wait. */
  hold(): () => void;
}

export function recordingBus(): RecordingBus {
  let gate: Promise<void> = Promise.resolve();
  const bus: RecordingBus = {
    published: [],
    async publish(topic, body) {
      await gate;
      bus.published.push({ topic, body: body as Record<string, unknown> });
    },
    hold() {
      let release: () => void = () => undefined;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => release();
    },
  };
  return bus;
}

export function listenerOn(store: ChangeSetStore, bus: RecordingBus, opts: { host: string[]; rules?: Partial<TriggerRules>; now?: () => Date }): TriggerListener {
  const host = new Set(opts.host);
  return new TriggerListener({
    bus: bus as never,
    store,
    rules: { ...RULES, ...opts.rules },
    ports: { hostPackages: () => host, now: opts.now ?? (() => new Date()) },
    logger: quietLogger,
  });
}

/** The core's input as a delivered message, and a handler context for it. */
export function delivery(input: TriggerInput): [BusMessage, HandlerContext] {
  const message = { id: input.id, topic: input.topic, schema: input.schema, body: input.body, headers: {}, severity: 20 } as unknown as BusMessage;
  return [message, { log: quietLogger, deliveryCount: 1, setChangeSet: () => undefined }];
}
