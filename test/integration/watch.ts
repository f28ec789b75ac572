// A watcher queue on the in-memory broker for the pipeline suites: bound before anything is
// published, so it misses nothing; `waitFor` polls it for a message matching a predicate.
import type { MemoryBroker } from "@atomic-ci/bus";

export interface Seen {
  topic: string;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

export interface Watcher {
  /** Every message seen so far, in order. */
  readonly seen: Seen[];
  /** Move what the queue holds into `seen`. */
  drain(): void;
  /** Wait until a message matching `match` was seen (at index `from` or later); returns it. */
  waitFor(match: (m: Seen) => boolean, timeoutMs?: number, from?: number): Promise<Seen>;
}

/** `org.atomic-ci.dev.pipeline.compose.complete` → `pipeline.compose.complete`. */
export const pipelineTopic = (routingKey: string): string => routingKey.replace(/^.*?\.pipeline\./, "pipeline.");

export function watchBroker(
  broker: MemoryBroker,
  queue: string,
  patterns: readonly string[],
  options: { topicOf?: (routingKey: string) => string; into?: Seen[]; timeoutMs?: number } = {},
): Watcher {
  for (const pattern of patterns) broker.bind(queue, "amq.topic", pattern);
  const { topicOf = (key: string) => key, timeoutMs: defaultTimeout = 60_000 } = options;
  const seen = options.into ?? [];
  const drain = () => {
    for (const wire of broker.take(queue)) {
      seen.push({ topic: topicOf(wire.routingKey), body: JSON.parse(wire.body.toString("utf8")) as Record<string, unknown>, headers: wire.properties.headers });
    }
  };
  return {
    seen,
    drain,
    async waitFor(match, timeoutMs = defaultTimeout, from = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        drain();
        const found = seen.slice(from).find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out; seen: ${seen.map((s) => s.topic).join(", ")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
