import type { MemoryBroker } from "@atomic-ci/bus";

/** A pipeline message as the demo sees it: the topic without prefix (`pipeline.…`, `resultsdb.…`, `greenwave.…`), the body, the headers. */
export interface Seen {
  topic: string;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

/** What the watcher's queue is bound to: the pipeline, the test-runner's results, the gatekeeper's decisions. */
export const WATCHED = ["#.pipeline.#", "#.resultsdb.result.new", "#.greenwave.decision.update", "#.ci.productmd-compose.test.#"];

/** A message as a watch queue hands it over (the wire's routing key, body, headers). */
export interface Watched {
  routingKey: string;
  body: Buffer;
  properties: { headers: Record<string, unknown> };
}

/** Where the watcher reads from: a queue bound to {@link WATCHED}, drained without blocking. */
export interface WatchSource {
  take(): Watched[];
}

/** A watch queue on the embedded broker. */
export function memoryWatchSource(broker: MemoryBroker, queue = "atomic-ci.demo.watch"): WatchSource {
  for (const pattern of WATCHED) broker.bind(queue, "amq.topic", pattern);
  return { take: () => broker.take(queue) };
}

/**
 * Every pipeline message (and the results and decisions of the gates) the services say to each
 * other, read by polling a queue of its own: the demo watches without being one of them. The
 * queue is on the embedded broker or on RabbitMQ (cli/src/demo/amqp.ts); the demo reads the same.
 */
export class Watcher {
  readonly seen: Seen[] = [];

  constructor(private readonly source: WatchSource) {}

  private drain(): void {
    for (const wire of this.source.take()) {
      const body = JSON.parse(wire.body.toString("utf8")) as Record<string, unknown>;
      this.seen.push({ topic: wire.routingKey.replace(/^.*?\.(pipeline|resultsdb|greenwave|ci)\./, "$1."), body, headers: wire.properties.headers });
    }
  }

  /** The first message after position `from` that `match` accepts; rejects after `timeoutMs`. */
  async next(match: (m: Seen) => boolean, from: number, timeoutMs = 120_000): Promise<Seen> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.drain();
      const found = this.seen.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s in vain; messages seen: ${this.seen.slice(from).map((s) => s.topic).join(", ") || "none"}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The compose outcome (complete or error) of the change set the next `change-set.queued` after `from` announces. */
  async composeOutcome(from: number, timeoutMs?: number): Promise<{ queued: Seen; outcome: Seen }> {
    const queued = await this.next((m) => m.topic === "pipeline.change-set.queued", from, timeoutMs);
    const id = queued.body["change_set_id"];
    const outcome = await this.next((m) => (m.topic === "pipeline.compose.complete" || m.topic === "pipeline.compose.error") && m.body["change_set_id"] === id, from, timeoutMs);
    return { queued, outcome };
  }
}
