// The abuse suite: the six services on the fixture world (roots under one temp dir), fed
// generated hostile messages, then every (message, consumer) delivery accounted for:
// dead-lettered (with the x-atomic-ci-dead-letter-reason header), ignored with a logged
// reason, refused by the broker, or — a finding — acked without a word, or still pending.
// Used by abuse.int.test.ts (which asserts) and run.ts (which prints the table).
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import amqp from "amqplib";
import { DEAD_LETTER_HEADERS, decodeMessage, MemoryBroker, type WireMessage } from "@atomic-ci/bus";
import { createComposerService } from "@atomic-ci/composer";
import { createGatekeeperService } from "@atomic-ci/gatekeeper";
import { createImageBuilderService } from "@atomic-ci/image-builder";
import { defaultRegistry, topicMatches } from "@atomic-ci/messages";
import { createPublisherService } from "@atomic-ci/publisher";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { createTestRunnerService } from "@atomic-ci/test-runner";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";
import { buildFixtureWorld, findBuild, kojiBuildComplete, pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";
import { generateAbuse, MARKER, pipelineSeeds, type AbuseCase, type Seed } from "./generate.js";

/**
 * `accepted`: a schema-valid message acked with nothing logged about it — its hostile strings
 * were taken as data (a decision about another subject). `acked-silently`:
 * the same for a message the schemas reject, which must not happen (the consumer dead-letters
 * those before any handler sees them).
 */
export type Outcome = "dead-lettered" | "ignored" | "refused-by-broker" | "accepted" | "acked-silently" | "pending";

export interface Delivery {
  caseId: string;
  consumer: string;
  outcome: Outcome;
  /** Dead-letter reason header, or the logged reason. */
  reason: string;
  mutations: string[];
  topic: string;
  pass: "memory" | "amqp";
}

export interface AbuseReport {
  seed: number;
  messages: number;
  deliveries: Delivery[];
  /** consumer → outcome → count */
  table: Record<string, Partial<Record<Outcome, number>>>;
  /** Services not answering 200 on /live or /ready after the run, or that stopped. */
  unhealthy: string[];
  /** Uncaught exceptions and unhandled rejections seen during the run. */
  crashes: string[];
  /** Files named with the marker outside the temp root, and changes to /etc's top level. */
  outside: string[];
  /** Files named with the marker inside the temp root (allowed; reported). */
  insideRoot: string[];
  prototypePolluted: boolean;
  seconds: number;
}

export interface AbuseOptions {
  seed?: number;
  /** Messages on the in-memory bus (default 1100). */
  count?: number;
  /** Messages of the AMQP pass (default 60; 0 skips it). */
  amqpCount?: number;
  amqpUrl?: string;
  /** Longest wait for the services to go quiet after the feed. */
  settleMs?: number;
  log?: (line: string) => void;
}

const SERVICES = () => [
  createTriggerListenerService(),
  createComposerService({ env: process.env }),
  createImageBuilderService({ env: process.env }),
  createTestRunnerService({ env: process.env }),
  createGatekeeperService({ env: process.env }),
  createPublisherService({ env: process.env }),
];

/** Lines the services log about one message, by `<consumer>\0<message_id>`. */
class LogIndex extends Writable {
  readonly byDelivery = new Map<string, { level: number; msg: string; reason?: string }[]>();
  private rest = "";
  constructor() {
    super({
      write: (chunk: Buffer, _enc, done) => {
        const text = this.rest + chunk.toString("utf8");
        const lines = text.split("\n");
        this.rest = lines.pop() ?? "";
        for (const line of lines) this.take(line);
        done();
      },
    });
  }
  private take(line: string): void {
    if (!line.includes('"message_id"')) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = entry["message_id"];
    const consumer = entry["consumer"];
    if (typeof id !== "string" || typeof consumer !== "string") return;
    const key = `${consumer}\0${id}`;
    const list = this.byDelivery.get(key) ?? [];
    if (list.length >= 4) return;
    const reason = entry["reason"] ?? entry["reason_code"] ?? entry["detail"];
    list.push({ level: Number(entry["level"]), msg: String(entry["msg"]).slice(0, 200), ...(reason === undefined ? {} : { reason: (typeof reason === "string" ? reason : JSON.stringify(reason)).slice(0, 200) }) });
    this.byDelivery.set(key, list);
  }
}

/** Extra seeds from the world: builds of host packages, which get past the trigger-listener's filters. */
function worldSeeds(world: FixtureWorld): Seed[] {
  const seeds: Seed[] = [];
  for (const nvr of ["podman-5.3.0-1.fc41", "ostree-2024.9-1.fc41"]) {
    try {
      const message = kojiBuildComplete(findBuild(world, nvr));
      seeds.push({ topic: message.topic, prefix: "org.fedoraproject.prod", body: { ...message.body } });
    } catch {
      // A world without that build: the fixtures still cover the topic.
    }
  }
  return seeds;
}

// ---- file-system watch -------------------------------------------------------------------

const SKIP = new Set(["node_modules", ".git", "proc", "sys", "dev", "run", ".pnpm-store"]);

function walk(dir: string, depth: number, out: string[], exclude: string): void {
  if (depth < 0 || dir === exclude) return;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (path === exclude) continue;
    if (name.includes(MARKER)) out.push(path);
    if (SKIP.has(name)) continue;
    try {
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) walk(path, depth - 1, out, exclude);
    } catch {
      // vanished meanwhile (other tests' temp dirs)
    }
  }
}

function etcSnapshot(): Map<string, number> {
  const snap = new Map<string, number>();
  for (const name of readdirSync("/etc")) {
    try {
      snap.set(name, statSync(join("/etc", name)).mtimeMs);
    } catch {
      // unreadable entry
    }
  }
  return snap;
}

function markerFiles(exclude: string): string[] {
  const found: string[] = [];
  walk("/tmp", 3, found, exclude);
  walk("/etc", 2, found, exclude);
  walk("/var/tmp", 2, found, exclude);
  walk("/root", 2, found, exclude);
  walk("/", 1, found, exclude);
  walk(process.cwd(), 3, found, exclude);
  return [...new Set(found)];
}

// ---- the run -----------------------------------------------------------------------------

function effectiveBindings(handle: ServiceHandle): string[] {
  const bindings = [...handle.config.bus.bindings];
  const trigger = (handle.config as unknown as { imageBuilder?: { trigger?: string } }).imageBuilder?.trigger;
  if (handle.name === "image-builder" && trigger === "compose-gate") bindings.push("#.greenwave.decision.update");
  return bindings;
}

async function counterSum(handle: ServiceHandle, name: "received" | "processed" | "dropped" | "inFlight"): Promise<number> {
  const metric = handle.metrics[name] as { get(): Promise<{ values: { value: number }[] }> };
  return (await metric.get()).values.reduce((n, v) => n + v.value, 0);
}

/** Wait until every queue is empty, nothing is in flight and nothing was received for a while. */
async function settle(group: GroupHandle, queues: string[], limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  let last = -1;
  let quiet = 0;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    let received = 0;
    let inFlight = 0;
    for (const s of group.services) {
      received += await counterSum(s, "received");
      inFlight += await counterSum(s, "inFlight");
    }
    const waiting = queues.reduce((n, q) => n + group.broker.peek(q).length, 0);
    quiet = received === last && inFlight === 0 && waiting === 0 ? quiet + 1 : 0;
    last = received;
    if (quiet >= 6) return;
  }
}

function classify(
  cases: readonly AbuseCase[],
  handles: readonly ServiceHandle[],
  dead: Map<string, Map<string, string>>,
  logs: LogIndex,
  pass: "memory" | "amqp",
  refused: Set<string> = new Set(),
): Delivery[] {
  const out: Delivery[] = [];
  for (const c of cases) {
    for (const h of handles) {
      if (!effectiveBindings(h).some((p) => topicMatches(p, c.routingKey))) continue;
      const consumer = h.config.bus.queue ?? `atomic-ci.${h.config.service}`;
      const base = { caseId: c.id, consumer: h.name, mutations: c.mutations, topic: c.topic, pass };
      if (refused.has(c.id)) {
        out.push({ ...base, outcome: "refused-by-broker", reason: "broker refused the publish" });
        continue;
      }
      const dl = dead.get(consumer)?.get(c.id);
      if (dl !== undefined) {
        out.push({ ...base, outcome: "dead-lettered", reason: dl });
        continue;
      }
      const lines = logs.byDelivery.get(`${consumer}\0${c.id}`);
      if (lines && lines.length > 0) {
        // The last line with a reason says how it ended (the composer logs "composing" first, then why it stopped).
        const best = [...lines].reverse().find((l) => l.reason !== undefined) ?? lines.reduce((a, b) => (b.level > a.level ? b : a));
        out.push({ ...base, outcome: "ignored", reason: best.reason ? `${best.msg}: ${best.reason}` : best.msg });
        continue;
      }
      const valid = decodeMessage({ routingKey: c.routingKey, body: c.body, properties: c.properties }, { registry: defaultRegistry, maxBodyBytes: h.config.bus.maxBodyBytes }).ok;
      out.push({ ...base, outcome: valid ? "accepted" : "acked-silently", reason: valid ? "schema-valid, acked without a log line" : "" });
    }
  }
  return out;
}

async function health(handles: readonly ServiceHandle[]): Promise<string[]> {
  const bad: string[] = [];
  for (const h of handles) {
    for (const path of ["/live", "/ready"]) {
      try {
        const res = await fetch(`http://127.0.0.1:${h.httpPort}${path}`);
        if (res.status !== 200) bad.push(`${h.name} ${path} ${res.status}`);
      } catch (err) {
        bad.push(`${h.name} ${path} ${(err as Error).message}`);
      }
    }
  }
  return bad;
}

function deadLetters(broker: MemoryBroker, queue: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const m of broker.peek(`${queue}.dead-letter`)) {
    const id = m.properties.messageId;
    const reason = m.properties.headers[DEAD_LETTER_HEADERS.reason];
    if (id) map.set(id, typeof reason === "string" ? reason : "(no reason header)");
  }
  return map;
}

/** Run both passes and account for every delivery. */
export async function runAbuse(options: AbuseOptions = {}): Promise<AbuseReport> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  log(`abuse suite: seed ${seed} (replay with ABUSE_SEED=${seed})`);
  const crashes: string[] = [];
  const onCrash = (err: unknown) => crashes.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);

  const world = await buildFixtureWorld();
  const root = await mkdtemp(join(tmpdir(), "atomic-ci-abuse-"));
  const etcBefore = etcSnapshot();
  const markersBefore = new Set(markerFiles(root));
  const logs = new LogIndex();
  const deliveries: Delivery[] = [];
  const unhealthy: string[] = [];
  let messages = 0;
  try {
    // ---- memory pass: the bulk, all six services ----
    const broker = new MemoryBroker();
    const perService = pipelinePerService(world, join(root, "memory"));
    for (const config of Object.values(perService)) config.config.overrides["logLevel"] = "debug";
    const group = await runServices(SERVICES(), { broker, logDestination: logs, processMetrics: false, perService });
    const stoppedEarly: string[] = [];
    for (const s of group.services) void s.stopped.then((r) => stoppedEarly.push(`${s.name} stopped: ${r.reason}`));
    try {
      const cases = generateAbuse({ seed, count: options.count ?? 1100, extraSeeds: worldSeeds(world) });
      messages += cases.length;
      log(`memory pass: ${cases.length} messages`);
      for (const c of cases) {
        const wire: WireMessage = { routingKey: c.routingKey, body: c.body, properties: c.properties };
        broker.publish("amq.topic", wire);
        // Let deliveries start between publishes, as they would with a broker in between.
        await new Promise((r) => setImmediate(r));
      }
      const queues = group.services.map((s) => s.config.bus.queue ?? `atomic-ci.${s.config.service}`);
      await settle(group, queues, options.settleMs ?? 600_000);
      const dead = new Map(queues.map((q) => [q, deadLetters(broker, q)]));
      const pending = new Set(queues.flatMap((q) => broker.peek(q).map((m) => m.properties.messageId)));
      for (const d of classify(cases, group.services, dead, logs, "memory")) deliveries.push(pending.has(d.caseId) ? { ...d, outcome: "pending" } : d);
      unhealthy.push(...(await health(group.services)), ...stoppedEarly);
    } finally {
      await group.shutdown("abuse suite done");
    }

    // ---- AMQP pass: the wire-level cases through RabbitMQ ----
    if ((options.amqpCount ?? 60) > 0) {
      const amqpResult = await amqpPass(world, root, seed, options.amqpCount ?? 60, options.amqpUrl ?? "amqp://guest:guest@127.0.0.1:5672", logs, log);
      messages += amqpResult.messages;
      deliveries.push(...amqpResult.deliveries);
      unhealthy.push(...amqpResult.unhealthy);
    }
  } finally {
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
  }

  const outside = markerFiles(root).filter((p) => !markersBefore.has(p));
  const etcAfter = etcSnapshot();
  for (const [name, mtime] of etcAfter) if (etcBefore.get(name) !== mtime) outside.push(`/etc/${name} ${etcBefore.has(name) ? "modified" : "created"}`);
  for (const name of etcBefore.keys()) if (!etcAfter.has(name)) outside.push(`/etc/${name} removed`);
  const insideRoot: string[] = [];
  walk(root, 8, insideRoot, "");
  const prototypePolluted = (Object.prototype as Record<string, unknown>)["polluted"] !== undefined;
  await rm(root, { recursive: true, force: true });

  const table: AbuseReport["table"] = {};
  for (const d of deliveries) {
    const row = (table[`${d.consumer}${d.pass === "amqp" ? " (amqp)" : ""}`] ??= {});
    row[d.outcome] = (row[d.outcome] ?? 0) + 1;
  }
  return { seed, messages, deliveries, table, unhealthy, crashes, outside, insideRoot, prototypePolluted, seconds: Math.round((Date.now() - started) / 1000) };
}

// ---- AMQP ----------------------------------------------------------------------------------

async function amqpPass(
  world: FixtureWorld,
  root: string,
  seed: number,
  count: number,
  url: string,
  logs: LogIndex,
  log: (line: string) => void,
): Promise<{ messages: number; deliveries: Delivery[]; unhealthy: string[] }> {
  // Our own exchange: hostile messages must not reach other suites' queues on the shared broker.
  const tag = `abuse-${seed}-${Date.now().toString(36)}`;
  const exchange = `atomic-ci.${tag}`;
  const connection = await amqp.connect(url);
  const setup = await connection.createChannel();
  await setup.assertExchange(exchange, "topic", { durable: false });
  // Three consumers are enough for the wire (decode is the consumer pipeline every service shares).
  const services = [createTriggerListenerService(), createGatekeeperService({ env: process.env }), createPublisherService({ env: process.env })];
  const perService = pipelinePerService(world, join(root, "amqp"));
  const queues: string[] = [];
  for (const [name, entry] of Object.entries(perService)) {
    const queue = `${tag}.${name}`;
    queues.push(queue);
    entry.config.overrides["logLevel"] = "debug";
    entry.config.overrides["bus"] = { amqp: { url, queueType: "classic" }, exchange, queue };
  }
  const group = await runServices(services, { logDestination: logs, processMetrics: false, perService });
  const refused = new Set<string>();
  let cases: AbuseCase[] = [];
  const unhealthy: string[] = [];
  const stoppedEarly: string[] = [];
  for (const s of group.services) void s.stopped.then((r) => stoppedEarly.push(`${s.name} (amqp) stopped: ${r.reason}`));
  try {
    const generated = generateAbuse({ seed: seed + 1, count: count * 3 }).filter((c) => group.services.some((h) => effectiveBindings(h).some((p) => topicMatches(p, c.routingKey))));
    cases = generated.slice(0, count);
    // The wire-level cases RabbitMQ lets through or refuses.
    // A clean decision on a compose at the compose gate: only its properties are hostile.
    const seedDecision = pipelineSeeds().find((s) => s.topic === "greenwave.decision.update");
    if (!seedDecision) throw new Error("no decision seed");
    const decision: AbuseCase = {
      id: "",
      routingKey: `${seedDecision.prefix}.${seedDecision.topic}`,
      topic: seedDecision.topic,
      mutations: [],
      body: Buffer.from(JSON.stringify(seedDecision.body), "utf8"),
      properties: { contentType: "application/json", contentEncoding: "utf-8", headers: {} },
    };
    const wire = (name: string, change: (p: AbuseCase) => AbuseCase): AbuseCase => change({ ...decision, id: `${tag}-${name}`, mutations: [name], properties: { ...decision.properties, messageId: `${tag}-${name}`, headers: { ...decision.properties.headers } } });
    cases.push(
      wire("forged-user-id:atomic-ci-gatekeeper", (c) => ({ ...c, properties: { ...c.properties, userId: "atomic-ci-gatekeeper" } })),
      wire("forged-user-id:root", (c) => ({ ...c, properties: { ...c.properties, userId: "root" } })),
      wire("user-id:guest(untrusted)", (c) => ({ ...c, properties: { ...c.properties, userId: "guest" } })),
      wire("content-type:text/plain", (c) => ({ ...c, properties: { ...c.properties, contentType: "text/plain" } })),
      wire("content-encoding:gzip", (c) => ({ ...c, properties: { ...c.properties, contentEncoding: "gzip" } })),
      wire("non-utf8", (c) => ({ ...c, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) })),
      wire("no-content-type", (c) => {
        const { contentType: _ct, contentEncoding: _ce, ...properties } = c.properties;
        return { ...c, properties: { ...properties, headers: c.properties.headers } };
      }),
    );
    log(`amqp pass: ${cases.length} messages on exchange ${exchange}`);
    for (const c of cases) {
      // A channel per message: RabbitMQ closes the channel on a forged user_id.
      const channel = await connection.createConfirmChannel();
      channel.on("error", () => undefined);
      const p = c.properties;
      try {
        await new Promise<void>((resolve, reject) => {
          channel.publish(
            exchange,
            c.routingKey,
            c.body,
            {
              messageId: p.messageId,
              headers: p.headers,
              persistent: true,
              ...(p.contentType === undefined ? {} : { contentType: p.contentType }),
              ...(p.contentEncoding === undefined ? {} : { contentEncoding: p.contentEncoding }),
              ...(p.userId === undefined ? {} : { userId: p.userId }),
            },
            (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
          );
          channel.once("close", () => reject(new Error("channel closed by the broker")));
        });
        await channel.close().catch(() => undefined);
      } catch {
        refused.add(c.id);
      }
    }
    // Wait for the queues to drain.
    const deadline = Date.now() + 120_000;
    let quiet = 0;
    while (Date.now() < deadline && quiet < 6) {
      await new Promise((r) => setTimeout(r, 500));
      let ready = 0;
      for (const q of queues.filter((q) => group.services.some((s) => s.config.bus.queue === q))) ready += (await setup.checkQueue(q)).messageCount;
      let inFlight = 0;
      for (const s of group.services) inFlight += await counterSum(s, "inFlight");
      quiet = ready === 0 && inFlight === 0 ? quiet + 1 : 0;
    }
    unhealthy.push(...(await health(group.services)), ...stoppedEarly);
  } finally {
    await group.shutdown("abuse suite done");
  }
  // Read the dead letters back from RabbitMQ, then remove what the pass declared.
  const dead = new Map<string, Map<string, string>>();
  const running = new Set(group.services.map((s) => s.config.bus.queue));
  for (const q of queues.filter((name) => running.has(name))) {
    const map = new Map<string, string>();
    const dlq = `${q}.dead-letter`;
    for (;;) {
      const m = await setup.get(dlq, { noAck: true });
      if (m === false) break;
      const id = m.properties.messageId as string | undefined;
      const headers: Record<string, unknown> | undefined = m.properties.headers;
      const reason = headers?.[DEAD_LETTER_HEADERS.reason];
      if (id) map.set(id, typeof reason === "string" ? reason : "(no reason header)");
    }
    dead.set(q, map);
  }
  const cleanup = await connection.createChannel();
  for (const q of queues.filter((name) => running.has(name))) {
    await cleanup.deleteQueue(q).catch(() => undefined);
    await cleanup.deleteQueue(`${q}.dead-letter`).catch(() => undefined);
  }
  await cleanup.deleteExchange(exchange).catch(() => undefined);
  await connection.close().catch(() => undefined);
  return { messages: cases.length, deliveries: classify(cases, group.services, dead, logs, "amqp", refused), unhealthy };
}

/** The table as aligned text. */
export function formatTable(report: AbuseReport): string {
  const outcomes: Outcome[] = ["dead-lettered", "ignored", "refused-by-broker", "accepted", "acked-silently", "pending"];
  const rows = Object.entries(report.table).sort(([a], [b]) => a.localeCompare(b));
  const header = ["consumer", ...outcomes, "total"];
  const body = rows.map(([consumer, row]) => [consumer, ...outcomes.map((o) => String(row[o] ?? 0)), String(outcomes.reduce((n, o) => n + (row[o] ?? 0), 0))]);
  const totals = ["total", ...outcomes.map((o) => String(rows.reduce((n, [, r]) => n + (r[o] ?? 0), 0))), String(report.deliveries.length)];
  const all = [header, ...body, totals];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ")).join("\n");
}

/** Reasons per outcome, most frequent first (the dead-letter reasons; the logged ignore reasons, shortened). */
export function reasonCounts(report: AbuseReport, outcome: Outcome, limit = 12): [string, number][] {
  const counts = new Map<string, number>();
  for (const d of report.deliveries) {
    if (d.outcome !== outcome) continue;
    const key = `${d.consumer}: ${d.reason.replace(/[0-9a-f]{16,}/g, "…").slice(0, 100)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit);
}
