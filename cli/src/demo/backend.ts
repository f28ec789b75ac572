// Where the demo's services run: all in this process on the embedded broker (the default), or one
// OS process each on RabbitMQ and Redis (`--bus amqp`, ./processes.ts). The demo's steps see only
// this interface: a bus to publish on, a watcher of what the services say, and a way to start and
// stop services by name. Both modes configure the services from the same overrides (./config.ts).
import { createServer } from "node:net";
import type { Writable } from "node:stream";
import { Bus, MemoryBroker, MemoryIdempotencyStore, MemoryTransport, type WireMessage } from "@atomic-ci/bus";
import type { GatekeeperServiceDefinition } from "@atomic-ci/gatekeeper";
import { defaultRegistry } from "@atomic-ci/messages";
import { DEFAULT_TOPIC_PREFIX, runServices, type GroupHandle } from "@atomic-ci/runtime";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import { SERVICES, type ProcessEnv } from "../services.js";
import type { ServiceOverrides } from "./config.js";
import { memoryWatchSource, Watcher } from "./watch.js";

/** A dead-lettered copy as the demo shows it: its headers (reason, detail, consumer). */
export interface DeadLettered {
  headers: Record<string, unknown>;
}

export interface DemoBackend {
  readonly kind: "memory" | "amqp";
  /** The demo's own publisher (operator requests, Koji messages), on the services' bus. */
  readonly bus: Bus;
  readonly watcher: Watcher;
  /** One line saying where the services run, for the header. */
  readonly description: string;
  /** Start these services, in this order; resolves once each is consuming. */
  start(names: readonly string[]): Promise<void>;
  /** Names of the services started so far, in start order. */
  readonly started: readonly string[];
  /** Bytes onto the bus past any validation (as a broken client would send them). */
  sendRaw(wire: WireMessage): Promise<void>;
  /** The copies dead-lettered by `service` so far, waiting up to `timeoutMs` until there are `count`. */
  deadLetters(service: string, count: number, timeoutMs: number): Promise<DeadLettered[]>;
  /**
   * Stop every service (downstream first) and release what the run holds. Resolves with what did
   * not go cleanly (a service killed after its grace period, a non-zero exit): notes, since what
   * the demo shows was checked before.
   */
  stop(reason: string): Promise<string[]>;
  /** What the `--json` summary says about where the services ran (after `stop`). */
  report(): Record<string, unknown>;
}

/** A free loopback port (the demo fixes the gatekeeper's API port up front: the publisher is told it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The embedded default: every service in this process, one MemoryBroker. */
export class MemoryBackend implements DemoBackend {
  readonly kind = "memory";
  readonly description = "the services in one process on the embedded (in-memory) bus";
  readonly broker = new MemoryBroker();
  readonly watcher = new Watcher(memoryWatchSource(this.broker));
  readonly bus: Bus;
  private readonly groups: GroupHandle[] = [];
  private readonly names: string[] = [];

  constructor(
    private readonly overrides: ServiceOverrides,
    private readonly env: ProcessEnv,
    private readonly logs: Writable,
  ) {
    this.bus = new Bus(
      { transport: new MemoryTransport(this.broker), registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics: createMetrics(), logger: silentLogger() },
      { topicPrefix: DEFAULT_TOPIC_PREFIX },
    );
  }

  get started(): readonly string[] {
    return this.names;
  }

  async start(names: readonly string[]): Promise<void> {
    const definitions = names.map((name) => {
      const create = SERVICES[name];
      if (!create) throw new Error(`no service ${name}`);
      return create(this.env);
    });
    const perService = Object.fromEntries(names.map((name) => [name, { config: { env: {}, overrides: this.overrides[name] ?? {} } }]));
    this.groups.push(await runServices(definitions, { broker: this.broker, logDestination: this.logs, processMetrics: false, perService }));
    this.names.push(...names);
    const gatekeeper = definitions.find((d) => d.name === "gatekeeper") as GatekeeperServiceDefinition | undefined;
    if (gatekeeper && gatekeeper.running?.apiPort === undefined) throw new Error("the gatekeeper's API is not listening");
  }

  async sendRaw(wire: WireMessage): Promise<void> {
    await this.bus.transport.send(wire, "amq.topic");
  }

  async deadLetters(service: string, count: number, timeoutMs: number): Promise<DeadLettered[]> {
    // The service's default queue (`atomic-ci.<service>`, docs/config.md), dead-letters beside it.
    const queue = `atomic-ci.${service}.dead-letter`;
    const deadline = Date.now() + timeoutMs;
    while (this.broker.peek(queue).length < count && Date.now() < deadline) await sleep(20);
    return this.broker.peek(queue).map((m) => ({ headers: m.properties.headers }));
  }

  async stop(reason: string): Promise<string[]> {
    const problems: string[] = [];
    // Downstream first: the groups started later consume what the earlier ones publish.
    for (const group of [...this.groups].reverse()) {
      const result = await group.shutdown(reason);
      if (result.exitCode !== 0) problems.push(`${group.services.map((s) => s.name).join(", ")}: shutdown exited ${result.exitCode}${result.timedOut ? " (timed out)" : ""}`);
    }
    await this.bus.close();
    return problems;
  }

  report(): Record<string, unknown> {
    return { services: this.names };
  }
}
