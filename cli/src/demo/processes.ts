// `atomic-ci demo --bus amqp`: each service its own OS process (`node --import tsx
// services/<name>/src/main.ts`, as deployed), configured by a file (ATOMIC_CI_CONFIG) written
// from the same overrides the embedded mode uses, talking over RabbitMQ with Redis for
// idempotency and state. A run is isolated from other runs and from what earlier runs left: it
// has its own topic exchange (every service publishes to and binds on it, so nothing crosses
// between runs whatever the routing keys), its own queue names and its own Redis key prefix.
// When the demo ends, however it ends, the processes are stopped (SIGTERM to each process group,
// SIGKILL after a grace period) and the run's queues, exchange and Redis keys are deleted.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AmqpTransport, Bus, MemoryIdempotencyStore, RedisLink, resolveAmqpOptions, type WireMessage } from "@atomic-ci/bus";
import { defaultRegistry } from "@atomic-ci/messages";
import { DEFAULT_TOPIC_PREFIX, ENV_ALIASES, ENV_PREFIX, NON_CONFIG_ENV } from "@atomic-ci/runtime";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import amqp from "amqplib";
import type { ProcessEnv } from "../services.js";
import type { DeadLettered, DemoBackend } from "./backend.js";
import { mergeOverrides, type Overrides, type ServiceOverrides } from "./config.js";
import { WATCHED, Watcher, type Watched } from "./watch.js";

export const DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** The repository root: services are started from their sources there, with the workspace's tsx. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Time a service gets to stop after SIGTERM before its process group is killed. */
const STOP_GRACE_MS = 10_000;
/** Time a service gets to say `started` (tsx compiles it on first start; the machine is shared). */
const START_TIMEOUT_MS = 60_000;

export interface AmqpBackendOptions {
  amqpUrl: string;
  redisUrl: string;
  /** The run directory: config files under `config/`, each process's log under `logs/`. */
  dir: string;
  overrides: ServiceOverrides;
  env: ProcessEnv;
}

/** The names a run uses on the shared broker and Redis, all derived from one random id. */
export interface RunNames {
  id: string;
  exchange: string;
  queueOf(service: string): string;
  redisPrefix: string;
}

export function runNames(id = randomBytes(4).toString("hex")): RunNames {
  return {
    id,
    exchange: `atomic-ci.demo.${id}`,
    queueOf: (service) => `atomic-ci.demo.${id}.${service}`,
    redisPrefix: `atomic-ci:demo:${id}:`,
  };
}

/** What a service's config file adds to the demo's overrides in this mode. */
export function processConfig(service: string, overrides: Overrides, names: RunNames, urls: { amqpUrl: string; redisUrl: string }): Overrides {
  const run: Overrides = {
    service,
    bus: { transport: "amqp", amqp: { url: urls.amqpUrl }, exchange: names.exchange, queue: names.queueOf(service) },
    redis: { url: urls.redisUrl, keyPrefix: `${names.redisPrefix}idem` },
  };
  // The services' own Redis keys, under the run's prefix too.
  const own: Record<string, Overrides> = {
    "trigger-listener": { triggerListener: { stateKey: `${names.redisPrefix}trigger-listener:state` } },
    "test-runner": { testRunner: { results: { redisPrefix: `${names.redisPrefix}results` } } },
    gatekeeper: { gatekeeper: { store: { prefix: `${names.redisPrefix}gatekeeper` } } },
    publisher: {
      publisher: {
        stateKeyPrefix: `${names.redisPrefix}publisher`,
        // On a shared broker with one account (guest on a development RabbitMQ) every service
        // publishes as that user: the publisher must take the gatekeeper's decisions from it.
        trust: { gatekeeperUser: brokerUser(urls.amqpUrl) },
      },
    },
  };
  return mergeOverrides(mergeOverrides(overrides, run), own[service] ?? {});
}

/** The account of an AMQP URL (RabbitMQ's default `guest` when it names none). */
export function brokerUser(url: string): string {
  return decodeURIComponent(new URL(url).username) || "guest";
}

/**
 * The environment of a service process: the demo's own, minus anything that configures a service
 * (`ATOMIC_CI_*` keys and the AMQP_URL/REDIS_URL/NATS_URL aliases would win over the file), plus
 * the config file.
 */
export function processEnv(env: ProcessEnv, configFile: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (key in ENV_ALIASES) continue;
    if (key.startsWith(ENV_PREFIX) && !NON_CONFIG_ENV.some((re) => re.test(key))) continue;
    out[key] = value;
  }
  out["ATOMIC_CI_CONFIG"] = configFile;
  return out;
}

interface ServiceProcess {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** How it ended, once it did. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** True once the service's log has its `started` line (pino JSON, `"msg":"started"`). */
function hasStarted(file: string): boolean {
  try {
    return readFileSync(file, "utf8").includes('"msg":"started"');
  } catch {
    return false;
  }
}

/** The RabbitMQ side of a run: the exchange, a watch queue on it, the driver's bus. */
class BrokerLink {
  private constructor(
    readonly connection: amqp.ChannelModel,
    readonly channel: amqp.ConfirmChannel,
    private readonly buffer: Watched[],
  ) {}

  static async open(url: string, names: RunNames): Promise<BrokerLink> {
    const connection = await amqp.connect(url, { clientProperties: { connection_name: `atomic-ci demo ${names.id}` } });
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertExchange(names.exchange, "topic", { durable: false, autoDelete: false });
      // The watcher's own queue: exclusive, gone with this connection.
      const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
      for (const pattern of WATCHED) await channel.bindQueue(queue, names.exchange, pattern);
      const buffer: Watched[] = [];
      await channel.consume(
        queue,
        (msg) => {
          if (msg) buffer.push({ routingKey: msg.fields.routingKey, body: msg.content, properties: { headers: (msg.properties.headers ?? {}) } });
        },
        { noAck: true },
      );
      return new BrokerLink(connection, channel, buffer);
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
  }

  take(): Watched[] {
    return this.buffer.splice(0);
  }
}

/** One process per service on RabbitMQ and Redis. */
export class AmqpBackend implements DemoBackend {
  readonly kind = "amqp";
  readonly names: RunNames;
  readonly watcher: Watcher;
  readonly bus: Bus;
  private readonly processes: ServiceProcess[] = [];
  private stopping = false;
  private readonly onExit = () => {
    // The demo's own process is going away (an uncaught error, process.exit): no process it
    // started may outlive it. Only synchronous calls work here.
    for (const p of this.processes) killGroup(p.child, "SIGKILL");
  };

  private constructor(
    private readonly options: AmqpBackendOptions,
    names: RunNames,
    private readonly link: BrokerLink,
  ) {
    this.names = names;
    this.watcher = new Watcher(link);
    this.bus = new Bus(
      {
        transport: new AmqpTransport(resolveAmqpOptions({ url: options.amqpUrl, clientProperties: { connection_name: `atomic-ci demo ${names.id} driver` } })),
        registry: defaultRegistry,
        idempotency: new MemoryIdempotencyStore(),
        metrics: createMetrics(),
        logger: silentLogger(),
      },
      { exchange: names.exchange, topicPrefix: DEFAULT_TOPIC_PREFIX },
    );
    process.once("exit", this.onExit);
  }

  static async create(options: AmqpBackendOptions, names = runNames()): Promise<AmqpBackend> {
    const link = await BrokerLink.open(options.amqpUrl, names);
    const backend = new AmqpBackend(options, names, link);
    try {
      await backend.bus.connect();
      // Redis answers before any service needs it, so a wrong URL fails here and says so.
      const redis = new RedisLink({ url: options.redisUrl }, "demo");
      await redis.connect();
      await redis.close();
    } catch (err) {
      await backend.stop();
      throw err;
    }
    return backend;
  }

  get description(): string {
    return `one process per service on RabbitMQ (exchange ${this.names.exchange}) and Redis (keys ${this.names.redisPrefix}*)`;
  }

  get started(): readonly string[] {
    return this.processes.map((p) => p.name);
  }

  /** Started in parallel (each compiles its sources on start); resolves once every one said `started`. */
  async start(names: readonly string[]): Promise<void> {
    const { dir } = this.options;
    await mkdir(join(dir, "config"), { recursive: true });
    await mkdir(join(dir, "logs"), { recursive: true });
    const started: ServiceProcess[] = [];
    for (const name of names) {
      const config = processConfig(name, this.options.overrides[name] ?? {}, this.names, this.options);
      const file = join(dir, "config", `${name}.json`);
      // JSON is YAML: the config loader reads it as it is.
      await writeFile(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      const log = join(dir, "logs", `${name}.log`);
      const fd = openSync(log, "a");
      const child = spawn(process.execPath, ["--import", "tsx", join("services", name, "src", "main.ts")], {
        cwd: ROOT,
        env: processEnv(this.options.env, file),
        stdio: ["ignore", fd, fd],
        // Its own process group: stopping it stops what it spawned (dnf, bwrap, qemu) too.
        detached: true,
        shell: false,
      });
      closeSync(fd);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.once("exit", (code, signal) => resolve({ code, signal }));
        child.once("error", () => resolve({ code: null, signal: null }));
      });
      const p: ServiceProcess = { name, child, log, exited };
      void exited.then((e) => (p.exit = e));
      this.processes.push(p);
      started.push(p);
    }
    await Promise.all(started.map((p) => this.waitStarted(p)));
  }

  private async waitStarted(p: ServiceProcess): Promise<void> {
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void p.exited.then((e) => (exit = e));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!hasStarted(p.log)) {
      if (exit) throw new Error(`${p.name} exited with ${exit.code ?? exit.signal ?? "?"} before it started; its log (${p.log}):\n${logTail(p.log)}`);
      if (Date.now() > deadline) throw new Error(`${p.name} did not start within ${START_TIMEOUT_MS / 1000} s; its log (${p.log}):\n${logTail(p.log)}`);
      await sleep(100);
    }
  }

  async sendRaw(wire: WireMessage): Promise<void> {
    const { channel } = this.link;
    const p = wire.properties;
    channel.publish(this.names.exchange, wire.routingKey, wire.body, {
      headers: p.headers,
      persistent: true,
      ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
      ...(p.contentEncoding !== undefined ? { contentEncoding: p.contentEncoding } : {}),
      ...(p.messageId !== undefined ? { messageId: p.messageId } : {}),
    });
    await channel.waitForConfirms();
  }

  async deadLetters(service: string, count: number, timeoutMs: number): Promise<DeadLettered[]> {
    const queue = `${this.names.queueOf(service)}.dead-letter`;
    const found: DeadLettered[] = [];
    const deadline = Date.now() + timeoutMs;
    while (found.length < count && Date.now() < deadline) {
      const msg = await this.link.channel.get(queue, { noAck: true });
      if (msg) found.push({ headers: (msg.properties.headers ?? {}) });
      else await sleep(50);
    }
    return found;
  }

  async stop(): Promise<string[]> {
    if (this.stopping) return [];
    this.stopping = true;
    const problems: string[] = [];
    // Downstream first, as the embedded group does, all within one grace period.
    const stops = [...this.processes].reverse().map(async (p) => {
      killGroup(p.child, "SIGTERM");
      const result = await Promise.race([p.exited, sleep(STOP_GRACE_MS).then(() => undefined)]);
      if (!result) {
        killGroup(p.child, "SIGKILL");
        await p.exited;
        problems.push(`${p.name} did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM (killed)`);
      } else if (result.code !== 0 && !(result.code === null && result.signal === "SIGTERM")) {
        problems.push(`${p.name} exited ${result.code ?? result.signal ?? "?"} on stop (${p.log})`);
      }
    });
    await Promise.all(stops);
    process.off("exit", this.onExit);
    await this.bus.close().catch(() => undefined);
    const cleanup = await this.cleanup();
    if (cleanup) problems.push(cleanup);
    return problems;
  }

  report(): Record<string, unknown> {
    return {
      exchange: this.names.exchange,
      queues: this.processes.flatMap((p) => [this.names.queueOf(p.name), `${this.names.queueOf(p.name)}.dead-letter`]),
      redis_prefix: this.names.redisPrefix,
      processes: this.processes.map((p) => ({ service: p.name, pid: p.child.pid ?? null, log: p.log, exit_code: p.exit?.code ?? null, signal: p.exit?.signal ?? null })),
    };
  }

  /** Delete the run's queues, its exchange and its Redis keys. */
  private async cleanup(): Promise<string | undefined> {
    const problems: string[] = [];
    try {
      const ch = await this.link.connection.createChannel();
      for (const p of this.processes) {
        for (const queue of [this.names.queueOf(p.name), `${this.names.queueOf(p.name)}.dead-letter`]) {
          // A queue that was never declared: a closed channel, reopened for the next one.
          await ch.deleteQueue(queue).catch(() => undefined);
        }
      }
      await ch.deleteExchange(this.names.exchange).catch(() => undefined);
      await ch.close().catch(() => undefined);
    } catch (err) {
      problems.push(`deleting the run's queues: ${err instanceof Error ? err.message : String(err)}`);
    }
    await this.link.connection.close().catch(() => undefined);
    const redis = new RedisLink({ url: this.options.redisUrl }, "demo cleanup");
    try {
      await redis.connect();
      let cursor = "0";
      do {
        const [next, keys] = await redis.client.scan(cursor, "MATCH", `${this.names.redisPrefix}*`, "COUNT", 500);
        if (keys.length > 0) await redis.client.del(...keys);
        cursor = next;
      } while (cursor !== "0");
    } catch (err) {
      problems.push(`deleting the run's Redis keys: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await redis.close();
    }
    return problems.length > 0 ? problems.join("; ") : undefined;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}
