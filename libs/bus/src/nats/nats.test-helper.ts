// Test-only: a stream and subject space of its own per test file, Buses on the NATS
// transport, a raw connection to inspect JetStream, and deletion of everything afterwards.
import { defaultRegistry, KOJI_TAG_TOPIC } from "@atomic-ci/messages";
import { createMetrics, silentLogger, type Metrics } from "@atomic-ci/telemetry";
import { connect, type ConsumerInfo, type JetStreamManager, type NatsConnection } from "nats";
import { testServices, uniqueName } from "../../../../test/support/index.js";
import { Bus } from "../bus.js";
import { MemoryIdempotencyStore } from "../idempotency/memory.js";
import type { NatsOptions } from "./options.js";
import { durableName } from "./subjects.js";
import { NatsTransport } from "./transport.js";

export const TOPIC = KOJI_TAG_TOPIC;

/** A valid `buildsys.tag` body; `name` tells test messages apart. */
export function tagBody(name: string): Record<string, unknown> {
  return { build_id: 4242, name, version: "2024.1", release: "1.fc41", tag: "f41-updates-candidate", tag_id: 7, user: "bodhi", owner: "alice", instance: "primary" };
}

export { metricValue, sleep, until } from "../testing.test-helper.js";

export class NatsKit {
  /** First subject word of everything this kit publishes: no other suite's stream captures it. */
  readonly prefix = uniqueName("natstest");
  readonly stream = uniqueName("NATSTEST").replace(/-/g, "_");
  private scopes = 0;
  private readonly closers: (() => Promise<unknown>)[] = [];

  private constructor(
    readonly url: string,
    readonly raw: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async create(): Promise<NatsKit> {
    const url = testServices().natsUrl;
    const raw = await connect({ servers: url });
    return new NatsKit(url, raw, await raw.jetstreamManager());
  }

  /** Transport options of this kit: its own streams, subjects and dead-letter prefix, short delays. */
  options(extra: Partial<NatsOptions> = {}): NatsOptions {
    return {
      servers: this.url,
      stream: this.stream,
      subjects: [`${this.prefix}.>`],
      deadLetterPrefix: `${this.prefix}-dead-letter`,
      ackWaitMs: 5_000,
      nakDelayMs: 50,
      publishTimeoutMs: 5_000,
      ...extra,
    };
  }

  transport(extra: Partial<NatsOptions> = {}): NatsTransport {
    const transport = new NatsTransport(this.options(extra));
    this.closers.push(() => transport.close());
    return transport;
  }

  /** A topic prefix of its own for one test, so tests of a file never see each other's messages. */
  scope(): string {
    this.scopes += 1;
    return `${this.prefix}.t${this.scopes}`;
  }

  bus(topicPrefix: string, transport = this.transport()): { bus: Bus; transport: NatsTransport; metrics: Metrics } {
    const metrics = createMetrics();
    const bus = new Bus({ transport, registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics, logger: silentLogger() }, { topicPrefix });
    this.closers.push(() => bus.close());
    return { bus, transport, metrics };
  }

  queue(): string {
    return uniqueName("q");
  }

  consumerInfo(queue: string): Promise<ConsumerInfo> {
    return this.jsm.consumers.info(this.stream, durableName(queue));
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.closers.splice(0).map((c) => c()));
    await this.jsm.streams.delete(this.stream).catch(() => undefined);
    await this.jsm.streams.delete(`${this.stream}_DLQ`).catch(() => undefined);
    await this.raw.close();
  }
}
