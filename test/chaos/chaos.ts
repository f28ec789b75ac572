// The chaos suite (issue #6 item 5): the six services, one OS process each, on RabbitMQ and
// Redis, fed pipeline triggers (Koji build messages of the fixture world's candidate builds,
// good and broken, Koji re-sends, operator composes and re-runs) while a chaos loop SIGKILLs a
// random service at random moments, RabbitMQ is restarted once and Redis once. Afterwards it
// checks what must hold whatever was killed when: every trigger is accounted for, every change
// set reached a final state, each (stream, version) was released exactly once, the dead-letter
// queues hold only the poison messages the suite sent itself, and the public repository passes
// `ostree fsck` and a GPG-verified pull. docs/chaos.md.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AmqpTransport, Bus, MemoryIdempotencyStore, resolveAmqpOptions, DEAD_LETTER_HEADERS } from "@atomic-ci/bus";
import { defaultRegistry } from "@atomic-ci/messages";
import { generateThrowawayKey } from "@atomic-ci/publish";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import { runTool } from "@atomic-ci/tools";
import amqp from "amqplib";
import { Redis } from "ioredis";
import { buildFixtureWorld, findBuild, kojiBuildComplete, pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";
import { serve } from "../publish/support.js";
import { Supervisor, type Env } from "./processes.js";
import { Watcher, type Seen } from "./watch.js";

export const SERVICES = ["trigger-listener", "composer", "test-runner", "gatekeeper", "image-builder", "publisher"] as const;
const KOJI_PREFIX = "org.fedoraproject.prod";
const TOPIC_PREFIX = "org.atomic-ci.dev";
const COMPOSE_GATE = "atomic_ci_compose_gate";
const IMAGE_GATE = "atomic_ci_image_gate";
const GOOD = "ostree-2024.9-1.fc41";
const BROKEN = "podman-5.3.0-1.fc41";
/** Needs ostree-2024.9 in the same change set (Depends-On): never sent without it. */
const NEEDS_OSTREE = "rpm-ostree-2024.9-1.fc41";

export interface ChaosOptions {
  runs: number;
  seed: number;
  /** SIGKILLs at most (default: one per run). */
  kills?: number;
  restartBroker: boolean;
  restartRedis: boolean;
  /** Build, boot and gate qcow2 images (the image gate); without, the publisher needs only the compose gate. */
  images: boolean;
  amqpUrl: string;
  redisUrl: string;
  env: Env;
  timeoutMs: number;
  /** Seconds between kills: uniform in [min, max]. */
  killEverySeconds?: [number, number];
  /** Keep the run directory (logs, public tree) afterwards. */
  keep?: boolean;
  say?: (line: string) => void;
}

/** How a change set ended. */
export type FinalState = "compose-error" | "rejected-compose-gate" | "rejected-image-gate" | "image-error" | "delivered" | "superseded";

export interface ChaosReport {
  seed: number;
  dir: string;
  seconds: number;
  triggers: { sent: number; byKind: Record<string, number>; changeSet: number; ignored: Record<string, number>; unaccounted: string[] };
  changeSets: { total: number; final: Record<string, number>; notFinal: string[] };
  chaos: { kills: Record<string, number>; crashes: Record<string, number>; brokerRestarts: number; redisRestarts: number; watcherReconnects: number; replayedAfterRedisLoss: number };
  releases: { byStream: Record<string, string[]>; delivered: number; reannounced: number; duplicates: string[]; mismatches: string[] };
  deadLetters: { poisonSent: number; byQueue: Record<string, number>; poison: number; other: string[] };
  repository: { fsck: Record<string, string>; pull: Record<string, string> };
  problems: string[];
}

/** mulberry32: a small seeded generator, so a run can be repeated with --seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type TriggerKind = "koji" | "koji-resend" | "compose" | "rerun";
export interface Trigger {
  n: number;
  kind: TriggerKind;
  id: string;
  build?: string;
  sentAt?: number;
  /** A re-send of this trigger after Redis lost the pipeline's state (see docs/chaos.md). */
  replays: string[];
}

/** The triggers of `runs` pipeline runs: every candidate build once (good and broken), then re-sends, operator composes and re-runs. */
export function planTriggers(world: Pick<FixtureWorld, "builds">, runs: number, random: () => number): Trigger[] {
  const shuffle = <T>(xs: T[]) => xs.map((x) => [random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
  const candidates = world.builds.filter((b) => b.repo === "candidates").map((b) => b.nvr);
  let builds: string[];
  if (runs >= candidates.length) builds = shuffle(candidates);
  else {
    // A good build and a broken one always; rpm-ostree only with the ostree it needs.
    const rest = shuffle(candidates.filter((nvr) => nvr !== GOOD && nvr !== BROKEN && nvr !== NEEDS_OSTREE));
    builds = shuffle([GOOD, BROKEN, ...rest].slice(0, Math.max(1, runs - 1)));
  }
  const plan: Trigger[] = builds.map((nvr, n) => ({ n, kind: "koji", id: randomUUID(), build: nvr, replays: [] }));
  const cycle: TriggerKind[] = ["compose", "rerun", "koji-resend"];
  for (let n = plan.length; n < runs; n++) {
    const kind = cycle[(n - builds.length) % cycle.length] ?? "compose";
    plan.push({ n, kind, id: randomUUID(), ...(kind === "koji-resend" ? { build: builds[Math.floor(random() * builds.length)] } : {}), replays: [] });
  }
  return plan;
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];
const count = (xs: string[]) => xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [x]: (acc[x] ?? 0) + 1 }), {});
/** `41.20261126.3` → comparable. */
function versionKey(v: string): number[] {
  return v.split(".").map((p) => Number(p) || 0);
}
export function newer(a: string, b: string): boolean {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
}

interface Requirement {
  type: string;
}

/** Reads the pipeline's outcome from what the services said. */
export class Ledger {
  constructor(private readonly seen: Seen[]) {}

  changeSetsOf(triggerId: string): string[] {
    return uniq(
      this.seen
        .filter((m) => m.topic === "pipeline.change-set.queued" && ((m.body["members"] ?? []) as { source_message_id?: string }[]).some((x) => x.source_message_id === triggerId))
        .map((m) => String(m.body["change_set_id"])),
    );
  }

  ignoredOf(triggerId: string): Seen | undefined {
    return this.seen.find((m) => m.topic === "pipeline.change-set.ignored" && m.body["source_message_id"] === triggerId);
  }

  allChangeSets(): string[] {
    return uniq(this.seen.filter((m) => m.topic === "pipeline.change-set.queued").map((m) => String(m.body["change_set_id"])));
  }

  private decision(commit: string, context: string): "satisfied" | "rejected" | undefined {
    const decisions = this.seen.filter(
      (m) => m.topic === "greenwave.decision.update" && m.body["subject_identifier"] === commit && m.body["decision_context"] === context,
    );
    if (decisions.some((d) => d.body["policies_satisfied"] === true)) return "satisfied";
    const settledNo = decisions.some((d) => d.body["policies_satisfied"] === false && !((d.body["unsatisfied_requirements"] ?? []) as Requirement[]).some((r) => r.type === "test-result-missing"));
    return settledNo ? "rejected" : undefined;
  }

  delivered(stream?: string): Seen[] {
    return this.seen.filter((m) => m.topic === "pipeline.release.delivered" && (stream === undefined || m.body["stream"] === stream));
  }

  /** Where a change set that is not final stopped, for the report. */
  stageOf(changeSet: string): string {
    const complete = this.seen.filter((m) => m.topic === "pipeline.compose.complete" && m.body["change_set_id"] === changeSet).at(-1);
    if (!complete) return "queued, no compose result";
    const commit = String(complete.body["commit"]);
    const gates = [COMPOSE_GATE, IMAGE_GATE].map((c) => `${c} ${this.decision(commit, c) ?? "pending"}`).join(", ");
    const image = this.seen.some((m) => m.topic === "pipeline.image.complete" && m.body["commit"] === commit) ? "image built" : "no image";
    const held = this.seen.filter((m) => m.topic === "pipeline.release.held" && m.body["commit"] === commit && m.body["stream"] === "testing").at(-1);
    const reasons = held ? ((held.body["reasons"] ?? []) as { kind: string; detail: string }[]).map((r) => `${r.kind}: ${r.detail}`).join("; ") : "none";
    return `composed ${commit.slice(0, 12)} (${String(complete.body["os_version"])}); ${gates}; ${image}; last held: ${reasons}`;
  }

  finalState(changeSet: string, images: boolean): FinalState | undefined {
    const outcomes = this.seen.filter((m) => (m.topic === "pipeline.compose.complete" || m.topic === "pipeline.compose.error") && m.body["change_set_id"] === changeSet);
    const complete = outcomes.filter((m) => m.topic === "pipeline.compose.complete").at(-1);
    if (!complete) return outcomes.length > 0 ? "compose-error" : undefined;
    const commit = String(complete.body["commit"]);
    const version = String(complete.body["os_version"]);
    if (this.delivered().some((d) => d.body["commit"] === commit)) return "delivered";
    const gate = this.decision(commit, COMPOSE_GATE);
    if (gate === "rejected") return "rejected-compose-gate";
    if (gate !== "satisfied") return undefined;
    if (images) {
      const image = this.decision(commit, IMAGE_GATE);
      if (image === "rejected") return "rejected-image-gate";
      if (this.seen.some((m) => m.topic === "pipeline.image.error" && m.body["commit"] === commit) && !this.seen.some((m) => m.topic === "pipeline.image.complete" && m.body["commit"] === commit)) return "image-error";
    }
    // The publisher delivers only the newest allowed compose: an older one than a release is never delivered.
    if (this.delivered().some((d) => newer(String(d.body["os_version"]), version))) return "superseded";
    return undefined;
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.say ?? (() => undefined);
  const random = rng(options.seed);
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);
  const started = Date.now();
  const problems: string[] = [];
  const ctx = { env: options.env };
  const world = await buildFixtureWorld({ env: options.env });
  const dir = await mkdtemp(join(tmpdir(), "atomic-ci-chaos-"));
  const id = `${Date.now().toString(36)}${Math.floor(random() * 1e6).toString(36)}`;
  const exchange = `atomic-ci.chaos.${id}`;
  const queueOf = (service: string) => `atomic-ci.chaos.${id}.${service}`;
  const redisPrefix = `atomic-ci:chaos:${id}:`;
  say(`chaos ${id}: seed ${options.seed}, ${options.runs} runs, dir ${dir}`);

  const gpg = await generateThrowawayKey(dir, ctx);
  const gatekeeperPort = 20_000 + Math.floor(random() * 20_000);
  const publicDir = join(dir, "public");
  const extra: Record<string, Record<string, unknown>> = {
    gatekeeper: { gatekeeper: { api: { host: "127.0.0.1", port: gatekeeperPort }, store: { prefix: `${redisPrefix}gatekeeper` } } },
    "image-builder": { imageBuilder: { trigger: "compose-gate", formats: ["qcow2"] } },
    "trigger-listener": { triggerListener: { stateKey: `${redisPrefix}trigger-listener:state` } },
    "test-runner": { testRunner: { results: { redisPrefix: `${redisPrefix}results` } } },
    publisher: {
      publisher: {
        publicDir,
        gpg: { homedir: gpg.homedir, keyId: gpg.keyId },
        gatekeeperUrl: `http://127.0.0.1:${gatekeeperPort}`,
        stateKeyPrefix: `${redisPrefix}publisher`,
        // Every process is `guest` on the shared development broker.
        trust: { gatekeeperUser: decodeURIComponent(new URL(options.amqpUrl).username) || "guest" },
        tickSeconds: 2,
        compressionLevel: 1,
        ...(options.images ? {} : { requireImages: false, gates: [COMPOSE_GATE] }),
      },
    },
  };
  const perService = pipelinePerService(world, dir, extra);
  const services: readonly string[] = options.images ? SERVICES : SERVICES.filter((s) => s !== "image-builder");
  const configs: Record<string, Record<string, unknown>> = {};
  for (const service of services) {
    const overrides = perService[service]?.config.overrides ?? {};
    configs[service] = {
      ...overrides,
      bus: { transport: "amqp", amqp: { url: options.amqpUrl }, exchange, queue: queueOf(service), prefetch: 1 },
      redis: { url: options.redisUrl, keyPrefix: `${redisPrefix}idem` },
    };
  }

  const watcher = new Watcher(options.amqpUrl, exchange, `atomic-ci.chaos.${id}.watch`);
  await watcher.open(); // declares the run's exchange (durable: it must outlive the broker's restart)
  const ledger = new Ledger(watcher.seen);
  const bus = new Bus(
    { transport: new AmqpTransport(resolveAmqpOptions({ url: options.amqpUrl })), registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics: createMetrics(), logger: silentLogger() },
    { exchange, topicPrefix: TOPIC_PREFIX },
  );
  await bus.connect();

  const supervisor = new Supervisor(dir, options.env, configs, () => between(1_000, 5_000), (line) => say(`  ! ${line}`));
  const triggers = planTriggers(world, options.runs, random);
  const poisonIds: string[] = [];
  const chaos = { kills: [] as string[], brokerRestarts: 0, redisRestarts: 0, replayed: 0 };
  let redisLostAt: number | undefined;
  const run = { finished: false };
  let report: ChaosReport | undefined;

  const send = async (t: Trigger, id = t.id): Promise<void> => {
    if (t.kind === "koji" || t.kind === "koji-resend") {
      const koji = kojiBuildComplete(findBuild(world, t.build ?? GOOD));
      await bus.publish(koji.topic, koji.body, { id, topicPrefix: KOJI_PREFIX });
    } else if (t.kind === "compose") {
      await bus.publish("pipeline.operator.request", { action: "compose", version: "1.0.0", generated_at: new Date().toISOString(), requested_by: "chaos", reason: `chaos run ${t.n}` }, { id });
    } else {
      // A re-run of a change set a Koji trigger made (the newest one known now).
      const known = triggers.filter((x) => x.kind === "koji").flatMap((x) => ledger.changeSetsOf(x.id));
      const target = known[Math.floor(random() * known.length)];
      if (target === undefined) {
        t.kind = "compose";
        await send(t, id);
        return;
      }
      await bus.publish("pipeline.operator.request", { action: "rerun", change_set_id: target, version: "1.0.0", generated_at: new Date().toISOString(), requested_by: "chaos", reason: `chaos run ${t.n}` }, { id });
    }
  };

  /** Bytes no consumer can take: they must end in the trigger-listener's dead-letter queue and nowhere else. */
  const sendPoison = async (): Promise<void> => {
    const connection = await amqp.connect(options.amqpUrl);
    const ch = await connection.createConfirmChannel();
    const poison: { routingKey: string; body: string; contentType: string }[] = [
      { routingKey: `${KOJI_PREFIX}.buildsys.build.state.change`, body: "{not json", contentType: "application/json" },
      { routingKey: `${TOPIC_PREFIX}.pipeline.operator.request`, body: JSON.stringify({ action: "compose", version: "1.0.0" }), contentType: "application/json" },
      { routingKey: `${KOJI_PREFIX}.buildsys.tag`, body: JSON.stringify({ tag: 42, name: ["x"] }), contentType: "application/json" },
    ];
    for (const p of poison) {
      const messageId = randomUUID();
      poisonIds.push(messageId);
      ch.publish(exchange, p.routingKey, Buffer.from(p.body), { messageId, contentType: p.contentType, contentEncoding: "utf-8", persistent: true, headers: { fedora_messaging_schema: "base.message" } });
    }
    await ch.waitForConfirms();
    await connection.close();
  };

  const restartBroker = async (): Promise<void> => {
    say("  ↻ RabbitMQ: rabbitmqctl stop_app");
    await runTool("rabbitmqctl", ["stop_app"], { env: options.env, timeoutMs: 120_000 });
    await sleep(between(2_000, 5_000));
    await runTool("rabbitmqctl", ["start_app"], { env: options.env, timeoutMs: 180_000 });
    await runTool("rabbitmqctl", ["await_startup"], { env: options.env, timeoutMs: 180_000 });
    chaos.brokerRestarts += 1;
    say("  ↻ RabbitMQ: back (start_app)");
  };

  const restartRedis = async (): Promise<void> => {
    say("  ↻ Redis: redis-cli shutdown nosave (every key is lost: no persistence here)");
    await runTool("redis-cli", ["shutdown", "nosave"], { env: options.env, timeoutMs: 30_000, okExitCodes: "any" });
    redisLostAt = Date.now();
    await sleep(between(1_000, 3_000));
    await runTool(
      "redis-server",
      ["--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
      { env: options.env, timeoutMs: 30_000 },
    );
    const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    for (let i = 0; i < 50; i++) {
      if ((await redis.ping().catch(() => "")) === "PONG") break;
      await sleep(200);
    }
    redis.disconnect();
    chaos.redisRestarts += 1;
    say("  ↻ Redis: back, empty");
  };

  const changeSetsOfTrigger = (t: Trigger) => uniq([t.id, ...t.replays].flatMap((x) => ledger.changeSetsOf(x)));
  const accounted = (t: Trigger) => changeSetsOfTrigger(t).length > 0 || [t.id, ...t.replays].some((x) => ledger.ignoredOf(x) !== undefined);
  /** A trigger is done when it was ignored, or the newest change set it (or its replay) made is final. */
  const triggerDone = (t: Trigger) => {
    if (!t.sentAt || !accounted(t)) return false;
    const sets = changeSetsOfTrigger(t);
    if (sets.length === 0) return true;
    return sets.some((cs) => ledger.finalState(cs, options.images) !== undefined);
  };

  try {
    await supervisor.startAll();
    say(`  ${services.length} services started (one process each), exchange ${exchange}`);
    await sendPoison();

    const maxKills = options.kills ?? options.runs;
    const [killMin, killMax] = options.killEverySeconds ?? [5, 20];
    const brokerAt = options.restartBroker ? Math.floor(triggers.length / 3) : -1;
    const redisAt = options.restartRedis ? Math.floor((2 * triggers.length) / 3) : -1;

    const sender = (async () => {
      for (const t of triggers) {
        await sleep(between(2_000, 8_000));
        await send(t);
        t.sentAt = Date.now();
        say(`  → trigger ${t.n + 1}/${triggers.length}: ${t.kind}${t.build ? ` ${t.build}` : ""}`);
        if (t.n === brokerAt) await restartBroker();
        if (t.n === redisAt) await restartRedis();
      }
    })();

    const killer = (async () => {
      const over = () => run.finished;
      while (!over() && chaos.kills.length < maxKills) {
        await sleep(between(killMin * 1000, killMax * 1000));
        if (over()) break;
        const victim = services[Math.floor(random() * services.length)] ?? "composer";
        if (supervisor.kill(victim)) {
          chaos.kills.push(victim);
          say(`  ✝ kill -9 ${victim} (${chaos.kills.length}/${maxKills})`);
        }
      }
    })();

    const deadline = started + options.timeoutMs;
    let lastProgress = Date.now();
    let lastSeen = 0;
    for (;;) {
      await sleep(2_000);
      if (watcher.seen.length !== lastSeen) {
        lastSeen = watcher.seen.length;
        lastProgress = Date.now();
      }
      const sent = triggers.every((t) => t.sentAt !== undefined);
      if (sent && triggers.every(triggerDone)) break;
      if (Date.now() > deadline) {
        problems.push(`timed out after ${Math.round(options.timeoutMs / 1000)} s`);
        break;
      }
      // Redis lost the pipeline's state: what was in flight then may wait for an input nobody will
      // send again (the publisher's candidate, the gatekeeper's results). Once nothing moves for a
      // minute, each unfinished trigger is sent again, as Koji or an operator would.
      if (sent && redisLostAt !== undefined && Date.now() - lastProgress > 60_000) {
        const lostAt = redisLostAt;
        for (const t of triggers.filter((x) => x.sentAt !== undefined && x.sentAt < lostAt && !triggerDone(x) && x.replays.length === 0)) {
          const replay = randomUUID();
          t.replays.push(replay);
          await send({ ...t, kind: t.kind === "koji-resend" ? "koji" : t.kind }, replay);
          chaos.replayed += 1;
          say(`  ⟲ replayed trigger ${t.n + 1} (${t.kind}) after the Redis loss`);
        }
        lastProgress = Date.now();
      }
    }
    run.finished = true;
    await sender;
    await killer;
    // Late duplicates (a redelivery after a kill) would come now.
    await sleep(8_000);

    // --- What must hold ---
    const byKind = count(triggers.map((t) => t.kind));
    const unaccounted = triggers.filter((t) => !accounted(t)).map((t) => `trigger ${t.n + 1} ${t.kind} ${t.build ?? ""} (${t.id})`);
    const ignored = count(triggers.flatMap((t) => [t.id, ...t.replays].map((x) => ledger.ignoredOf(x)).filter((m): m is Seen => m !== undefined)).map((m) => String(m.body["reason_code"])));
    const allSets = ledger.allChangeSets();
    const finals = allSets.map((cs) => [cs, ledger.finalState(cs, options.images)] as const);
    // A change set made again after Redis lost its first life (same id, or a replay's) is judged by its newest life.
    const notFinal = finals.filter(([, s]) => s === undefined).map(([cs]) => `${cs}: ${ledger.stageOf(cs)}`);

    const releases = await releasesOnDisk(publicDir);
    const delivered = ledger.delivered();
    const fresh = delivered.filter((d) => d.body["already_promoted"] !== true);
    const keys = fresh.map((d) => `${String(d.body["stream"])}@${String(d.body["os_version"])}`);
    const duplicates = Object.entries(count(keys)).filter(([, n]) => n > 1).map(([k, n]) => `${k} delivered ${n} times`);
    const mismatches: string[] = [];
    for (const [stream, list] of Object.entries(releases)) {
      for (const [version, n] of Object.entries(count(list.map((r) => r.version)))) if (n > 1) duplicates.push(`${stream}@${version} ${n} times in releases.json`);
      for (const r of list) {
        const d = delivered.find((m) => m.body["stream"] === stream && m.body["os_version"] === r.version);
        if (!d) mismatches.push(`${stream}@${r.version} is in releases.json but no pipeline.release.delivered said so`);
        else if (d.body["commit"] !== r.commit) mismatches.push(`${stream}@${r.version}: releases.json has ${r.commit}, delivered said ${String(d.body["commit"])}`);
      }
    }
    for (const k of uniq(keys)) {
      const [stream, version] = k.split("@") as [string, string];
      if (!(releases[stream] ?? []).some((r) => r.version === version)) mismatches.push(`${k} was announced delivered but is not in releases.json`);
    }

    const dead = await deadLetters(options.amqpUrl, services.map(queueOf));
    const poisonFound = dead.all.filter((m) => m.messageId !== undefined && poisonIds.includes(m.messageId));
    const other = dead.all
      .filter((m) => m.messageId === undefined || !poisonIds.includes(m.messageId))
      .map((m) => `${m.queue}: ${m.reason} (${m.routingKey}): ${m.detail.slice(0, 300)}`);
    // Every consumer bound to a poison message's topic dead-letters its own copy (the operator request goes to three).
    const missingPoison = poisonIds.filter((p) => !poisonFound.some((m) => m.messageId === p));
    if (missingPoison.length > 0) problems.push(`${missingPoison.length} of ${poisonIds.length} poison messages were not dead-lettered`);

    const repository = await checkRepositories(publicDir, releases, gpg.publicKeyPath, dir, options.env);

    const exits = supervisor.exits;
    report = {
      seed: options.seed,
      dir,
      seconds: Math.round((Date.now() - started) / 1000),
      triggers: { sent: triggers.length, byKind, changeSet: triggers.filter((t) => changeSetsOfTrigger(t).length > 0).length, ignored, unaccounted },
      changeSets: { total: allSets.length, final: count(finals.map(([, s]) => s ?? "not-final")), notFinal },
      chaos: {
        kills: count(chaos.kills),
        crashes: count(exits.filter((e) => e.cause === "crashed").map((e) => e.service)),
        brokerRestarts: chaos.brokerRestarts,
        redisRestarts: chaos.redisRestarts,
        watcherReconnects: watcher.reconnects,
        replayedAfterRedisLoss: chaos.replayed,
      },
      releases: {
        byStream: Object.fromEntries(Object.entries(releases).map(([s, list]) => [s, list.map((r) => r.version)])),
        delivered: fresh.length,
        reannounced: delivered.length - fresh.length,
        duplicates,
        mismatches,
      },
      deadLetters: { poisonSent: poisonIds.length, byQueue: dead.byQueue, poison: poisonFound.length, other },
      repository,
      problems,
    };
    if (unaccounted.length > 0) problems.push(`${unaccounted.length} trigger(s) not accounted for`);
    if (notFinal.length > 0) problems.push(`${notFinal.length} change set(s) not in a final state`);
    if (duplicates.length > 0) problems.push(`duplicate releases: ${duplicates.join("; ")}`);
    if (mismatches.length > 0) problems.push(`release records and messages differ: ${mismatches.join("; ")}`);
    if (other.length > 0) problems.push(`${other.length} dead-lettered message(s) that are not poison`);
    for (const [stream, r] of Object.entries(repository.fsck)) if (r !== "ok") problems.push(`ostree fsck ${stream}: ${r}`);
    for (const [stream, r] of Object.entries(repository.pull)) if (!r.startsWith("ok")) problems.push(`verified pull ${stream}: ${r}`);
    if (Object.keys(releases).length === 0) problems.push("nothing was released");
    return report;
  } finally {
    run.finished = true;
    const stopProblems = await supervisor.stop();
    if (stopProblems.length > 0) say(`  (stop: ${stopProblems.join("; ")})`);
    await bus.close().catch(() => undefined);
    await watcher.close();
    await cleanup(options, exchange, [...services.map(queueOf), `atomic-ci.chaos.${id}.watch`], redisPrefix);
    await gpg.dispose();
    if (!options.keep && report && report.problems.length === 0) await rm(dir, { recursive: true, force: true });
  }
}

interface Release {
  version: string;
  commit: string;
}

/** `prod/streams/<stream>/releases.json` of every stream in the public tree. */
async function releasesOnDisk(publicDir: string): Promise<Record<string, Release[]>> {
  const root = join(publicDir, "prod", "streams");
  const out: Record<string, Release[]> = {};
  if (!existsSync(root)) return out;
  for (const stream of await readdir(root)) {
    const file = join(root, stream, "releases.json");
    if (!existsSync(file)) continue;
    const index = JSON.parse(await readFile(file, "utf8")) as { releases: { version: string; commits: { checksum: string }[] }[] };
    out[stream] = index.releases.map((r) => ({ version: r.version, commit: r.commits[0]?.checksum ?? "" }));
  }
  return out;
}

interface DeadLetter {
  queue: string;
  messageId: string | undefined;
  reason: string;
  detail: string;
  routingKey: string;
}

/** Every message in the services' dead-letter queues (taken: the queues are deleted afterwards anyway). */
async function deadLetters(url: string, queues: string[]): Promise<{ all: DeadLetter[]; byQueue: Record<string, number> }> {
  const connection = await amqp.connect(url);
  const all: DeadLetter[] = [];
  const byQueue: Record<string, number> = {};
  try {
    for (const queue of queues) {
      const dlq = `${queue}.dead-letter`;
      const ch = await connection.createChannel();
      ch.on("error", () => undefined);
      const exists = await ch.checkQueue(dlq).then(
        () => true,
        () => false,
      );
      if (!exists) continue;
      let n = 0;
      for (;;) {
        const msg = await ch.get(dlq, { noAck: true });
        if (!msg) break;
        n += 1;
        const h = (msg.properties.headers ?? {}) as Record<string, unknown>;
        const messageId: unknown = msg.properties.messageId;
        all.push({
          queue: dlq,
          messageId: typeof messageId === "string" ? messageId : undefined,
          reason: String(h[DEAD_LETTER_HEADERS.reason]),
          detail: String(h[DEAD_LETTER_HEADERS.detail]),
          routingKey: String(h[DEAD_LETTER_HEADERS.routingKey]),
        });
      }
      byQueue[dlq.replace(/^atomic-ci\.chaos\.[^.]+\./, "")] = n;
      await ch.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
  return { all, byQueue };
}

/** `ostree fsck` of each stream's public repository, and a GPG-verified pull of its ref over HTTP as a user would. */
async function checkRepositories(publicDir: string, releases: Record<string, Release[]>, publicKey: string, dir: string, env: Env): Promise<ChaosReport["repository"]> {
  const fsck: Record<string, string> = {};
  const pull: Record<string, string> = {};
  const served = await serve(publicDir);
  // No proxy between the client and 127.0.0.1.
  const clientEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !/^(https?|all|no)_proxy$/i.test(k)));
  const tool = (cmd: string, args: string[]) => runTool(cmd, args, { env: clientEnv, timeoutMs: 300_000, okExitCodes: "any" });
  try {
    for (const [stream, list] of Object.entries(releases)) {
      const repo = join(publicDir, "repo", stream);
      const check = await tool("ostree", ["fsck", `--repo=${repo}`]);
      fsck[stream] = check.code === 0 ? "ok" : `exit ${check.code}: ${check.stderr.trim().slice(0, 300)}`;
      const last = list.at(-1);
      if (!last) continue;
      const refs = await tool("ostree", ["refs", `--repo=${repo}`]);
      const ref = refs.stdout.trim().split("\n")[0] ?? "";
      const client = join(dir, `client-${stream}`);
      await tool("ostree", ["init", `--repo=${client}`, "--mode=bare-user"]);
      await tool("ostree", ["remote", "add", `--repo=${client}`, "--set=gpg-verify=true", "--set=gpg-verify-summary=true", `--set=gpgkeypath=${publicKey}`, "pub", `${served.url}repo/${stream}`]);
      const pulled = await tool("ostree", ["pull", `--repo=${client}`, "pub", ref]);
      if (pulled.code !== 0) {
        pull[stream] = `exit ${pulled.code}: ${pulled.stderr.trim().slice(0, 300)}`;
        continue;
      }
      const head = (await tool("ostree", ["rev-parse", `--repo=${client}`, `pub:${ref}`])).stdout.trim();
      const verify = await tool("ostree", ["show", `--repo=${client}`, "--gpg-verify-remote=pub", head]);
      // The ref serves the newest release (no rollback in the suite).
      pull[stream] =
        head !== last.commit ? `pulled ${head}, newest release is ${last.commit}` : verify.code !== 0 || !/Good signature/.test(verify.stdout) ? `signature not verified: ${verify.stderr.trim().slice(0, 200)}` : `ok ${ref} ${head.slice(0, 12)} (${last.version})`;
    }
  } finally {
    await served.close();
  }
  return { fsck, pull };
}

/** Delete the run's queues, its exchange and its Redis keys. */
async function cleanup(options: ChaosOptions, exchange: string, queues: string[], redisPrefix: string): Promise<void> {
  try {
    const connection = await amqp.connect(options.amqpUrl);
    // A fresh channel for each: deleting what was never declared closes the channel.
    for (const queue of queues.flatMap((q) => [q, `${q}.dead-letter`])) {
      const ch = await connection.createChannel();
      ch.on("error", () => undefined);
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    const ch = await connection.createChannel();
    ch.on("error", () => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
    await connection.close().catch(() => undefined);
  } catch {
    // the broker is gone: nothing to clean
  }
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${redisPrefix}*`, "COUNT", 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } catch {
    // Redis is gone: nothing to clean
  } finally {
    redis.disconnect();
  }
}
