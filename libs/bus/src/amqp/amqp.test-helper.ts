// Test-only: a raw amqplib connection to inspect the broker, Buses on the AMQP transport,
// and automatic deletion of every queue a test created.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type Channel, type ChannelModel, type GetMessage } from "amqplib";
import { defaultRegistry } from "@atomic-ci/messages";
import { createMetrics, silentLogger, type Metrics } from "@atomic-ci/telemetry";
import { testServices, uniqueName } from "../../../../test/support/index.js";
import { Bus, type BusSettings } from "../bus.js";
import { MemoryIdempotencyStore } from "../idempotency/memory.js";
import type { AmqpConnectionManager } from "./connection.js";
import type { AmqpOptions } from "./options.js";
import { AmqpTransport } from "./transport.js";

export const KOJI_TOPIC = "buildsys.build.state.change";
export const PROD_PREFIX = "org.fedoraproject.prod";

/** The real Koji build state change (a fedora-messaging dump) from the shared fixtures. */
export function kojiFixture(): { id: string; topic: string; body: Record<string, unknown>; headers: Record<string, unknown> } {
  const dir = process.env["ATOMIC_CI_SHARED_DIR"]
    ? join(process.env["ATOMIC_CI_SHARED_DIR"], "fixtures", "fedora-messages")
    : fileURLToPath(new URL("../../../../../shared/fixtures/fedora-messages/", import.meta.url));
  return JSON.parse(readFileSync(join(dir, "buildsys.build.state.change.json"), "utf8")) as ReturnType<typeof kojiFixture>;
}

import { until } from "../testing.test-helper.js";

export { metricValue, sleep, until } from "../testing.test-helper.js";

/** The socket under a transport's live connection, to cut it as a network failure would. */
export function transportSocket(transport: AmqpTransport): { destroy(err?: Error): void } {
  const manager = (transport as unknown as { connection: AmqpConnectionManager }).connection;
  const model = manager.current();
  if (!model) throw new Error("transport is not connected");
  return (model.connection as unknown as { stream: { destroy(err?: Error): void } }).stream;
}

export class AmqpKit {
  private readonly queues = new Set<string>();
  private readonly closers: (() => Promise<unknown>)[] = [];
  /**
   * This kit's own topic prefix (schemas match by suffix, so any prefix works). Test files run
   * in parallel against one broker and all bind `amq.topic`: with a shared routing key, one
   * test's queue got another test's messages (a foreign message handled, or counted as a
   * duplicate, broke exact counts).
   */
  readonly prefix = uniqueName("org.atomic-ci-test");
  /** `<prefix>.buildsys.build.state.change`: the routing key of this kit's koji messages. */
  readonly routingKey = `${this.prefix}.${KOJI_TOPIC}`;

  private constructor(
    readonly url: string,
    readonly raw: ChannelModel,
    readonly channel: Channel,
  ) {}

  static async create(): Promise<AmqpKit> {
    const url = testServices().amqpUrl;
    const raw = await connect(url);
    const channel = await raw.createChannel();
    return new AmqpKit(url, raw, channel);
  }

  /** A unique consumer queue name; it and its dead-letter queue are deleted by `dispose`. */
  queue(prefix = "amqp-test"): string {
    const name = uniqueName(prefix);
    this.queues.add(name);
    this.queues.add(`${name}.dead-letter`);
    return name;
  }

  /** A raw classic queue bound to amq.topic, for looking at what was published. */
  async watch(bindingKey: string): Promise<string> {
    const name = this.queue("amqp-watch");
    await this.channel.assertQueue(name, { durable: false });
    await this.channel.bindQueue(name, "amq.topic", bindingKey);
    return name;
  }

  transport(options: Partial<AmqpOptions> = {}, metrics?: Metrics): AmqpTransport {
    const transport = new AmqpTransport({ url: this.url, clientProperties: { connection_name: "atomic-ci test" }, ...options }, metrics ? { metrics } : {});
    this.closers.push(() => transport.close());
    return transport;
  }

  bus(options: { transport?: AmqpTransport; metrics?: Metrics; settings?: BusSettings; amqp?: Partial<AmqpOptions> } = {}): { bus: Bus; metrics: Metrics; transport: AmqpTransport } {
    const metrics = options.metrics ?? createMetrics();
    const transport = options.transport ?? this.transport(options.amqp, metrics);
    const bus = new Bus(
      { transport, registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics, logger: silentLogger() },
      options.settings ?? { topicPrefix: this.prefix },
    );
    this.closers.push(() => bus.close());
    return { bus, metrics, transport };
  }

  /** Ready messages of a queue (unacked ones are not counted). */
  async ready(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /** Whether a queue exists (on a throwaway channel: a 404 closes the channel). */
  async exists(queue: string): Promise<boolean> {
    const ch = await this.raw.createChannel();
    ch.on("error", () => undefined);
    const found = await ch.checkQueue(queue).then(() => true, () => false);
    await ch.close().catch(() => undefined);
    return found;
  }

  /** Wait for the next message of a queue and remove it. */
  async next(queue: string, timeoutMs = 10_000): Promise<GetMessage> {
    let found: GetMessage | false = false;
    await until(async () => (found = await this.channel.get(queue, { noAck: true })) !== false, timeoutMs, `a message in ${queue}`);
    return found as unknown as GetMessage;
  }

  /** Close every bus and transport, delete every queue this kit named, close the raw connection. */
  async dispose(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((close) => close().catch(() => undefined)));
    const ch = await this.raw.createChannel();
    ch.on("error", () => undefined);
    for (const queue of this.queues) await ch.deleteQueue(queue).catch(() => undefined);
    await this.raw.close().catch(() => undefined);
  }
}
