// Two composer processes (`tsx services/composer/src/main.ts`, configured by env as in a
// Deployment with two replicas) on one quorum queue, sharing Redis for idempotency and one
// OSTree repository: change sets are spread over both, each is composed once, and messages
// delivered again are skipped by whichever replica gets them.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import amqp from "amqplib";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusMessage } from "@atomic-ci/bus";
import { CHANGE_SET_QUEUED_TOPIC, changeSetIdOf, composeTopic, PIPELINE_SPEC_VERSION, type ChangeSetQueued } from "@atomic-ci/messages";
import { defineService, runService, type ServiceHandle } from "@atomic-ci/runtime";
import { buildFixtureWorld, findBuild, type FixtureWorld } from "../fixture-world/src/index.js";
import { testServices, uniqueName } from "../support/index.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const N = 6;

interface Replica {
  name: string;
  child: ChildProcess;
  port: number;
  exit: Promise<number | null>;
  output: string[];
}

const run = uniqueName("cc");
const prefix = `test.${run}`;
const queue = `atomic-ci.composer.${run}`;
const redisPrefix = `atomic-ci:test:${run}`;
const { amqpUrl, redisUrl } = testServices();
let world: FixtureWorld;
let dir: string;
let watch: ServiceHandle | undefined;
const replicas: Replica[] = [];
const seen: BusMessage[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** One replica: its own work directory and health port; queue, Redis and repository shared. */
async function startReplica(name: string): Promise<Replica> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/tmp",
    ATOMIC_CI_BUS__AMQP__URL: amqpUrl,
    ATOMIC_CI_BUS__QUEUE: queue,
    ATOMIC_CI_BUS__BINDINGS: `${prefix}.${CHANGE_SET_QUEUED_TOPIC}`,
    ATOMIC_CI_BUS__TOPIC_PREFIX: prefix,
    // One compose at a time per replica, as deploy/openshift configures it: with a larger
    // prefetch the first replica up would take every waiting change set.
    ATOMIC_CI_BUS__PREFETCH: "1",
    ATOMIC_CI_REDIS__URL: redisUrl,
    ATOMIC_CI_REDIS__KEY_PREFIX: redisPrefix,
    ATOMIC_CI_HTTP__HOST: "127.0.0.1",
    ATOMIC_CI_HTTP__PORT: String(port),
    ATOMIC_CI_COMPOSER__DEFINITION__REPO: world.hostDefinition.path,
    ATOMIC_CI_COMPOSER__DEFINITION__BRANCH: world.hostDefinition.branch,
    ATOMIC_CI_COMPOSER__WORK_DIR: join(dir, `work-${name}`),
    ATOMIC_CI_COMPOSER__OSTREE_REPO: join(dir, "repo"),
    ATOMIC_CI_COMPOSER__CANDIDATES__ID: world.repos.candidates.id,
    ATOMIC_CI_COMPOSER__CANDIDATES__URL: world.repos.candidates.url,
  };
  const child = spawn(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "services/composer/src/main.ts")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const replica = { name, child, port, exit, output };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return replica;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`composer ${name} did not get ready:\n${output.join("").slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A counter of a replica's /metrics, for the shared queue. */
async function counter(replica: Replica, metric: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${metric}{consumer="${queue}"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen: ${seen.map((m) => m.topic.slice(prefix.length + 1)).join(", ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Change sets as trigger-listener makes them: operator composes, and builds (another tree). */
function changeSets(): { id: string; body: ChangeSetQueued }[] {
  const build = findBuild(world, "ostree-2024.9-1.fc41");
  return Array.from({ length: N }, (_, i) => {
    const source = { source_message_id: randomUUID(), source_topic: "org.fedoraproject.prod.test" };
    // A build's identity is its NVR: the operator member (its own message) keeps the ids apart.
    const operator = { kind: "operator-request" as const, action: "compose" as const, requested_by: "tester", ...source };
    const members: ChangeSetQueued["members"] = i % 2 === 0 ? [operator] : [{ kind: "build", package: build.name, nvr: build.nvr, ...source }, operator];
    const body: ChangeSetQueued = {
      change_set_id: changeSetIdOf(members),
      version: PIPELINE_SPEC_VERSION,
      generated_at: new Date().toISOString(),
      reason: i % 2 === 0 ? "operator" : "batch",
      members,
      definition: { repo: world.hostDefinition.name, branch: world.hostDefinition.branch },
      requested_by: "tester",
    };
    return { id: randomUUID(), body };
  });
}

const completes = () => seen.filter((m) => m.topic === `${prefix}.${composeTopic("complete")}` || m.topic === `${prefix}.${composeTopic("error")}`);

beforeAll(async () => {
  world = await buildFixtureWorld();
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-competing-"));
  // Publishes the change sets and watches what the composers publish, on the same broker.
  watch = await runService({
    ...defineService({
      name: "competing-watch",
      bindings: [`${prefix}.pipeline.compose.#`],
      handle: (message) => {
        seen.push(message);
        return Promise.resolve();
      },
    }),
    logDestination: new Writable({ write: (_c, _e, done) => done() }),
    processMetrics: false,
    config: { env: {}, overrides: { bus: { amqp: { url: amqpUrl }, queue: `${queue}.watch`, topicPrefix: prefix }, http: { host: "127.0.0.1", port: 0 } } },
  });
  // Both replicas consuming before anything is published, so the broker can spread the work.
  replicas.push(...(await Promise.all([startReplica("a"), startReplica("b")])));
}, 180_000);

afterAll(async () => {
  for (const r of replicas) if (r.child.exitCode === null) r.child.kill("SIGKILL");
  await watch?.shutdown("test done");
  const connection = await amqp.connect(amqpUrl);
  const ch = await connection.createChannel();
  for (const q of [queue, `${queue}.dead-letter`, `${queue}.watch`, `${queue}.watch.dead-letter`]) await ch.deleteQueue(q).catch(() => undefined);
  await connection.close();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${redisPrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("two composer processes on one queue", () => {
  let sent: { id: string; body: ChangeSetQueued }[] = [];

  it("compose each change set once, both doing part of the work", async () => {
    sent = changeSets();
    for (const { id, body } of sent) await watch?.bus.publish(CHANGE_SET_QUEUED_TOPIC, body, { id, headers: { atomic_ci_change_set: body.change_set_id } });
    await waitFor(`${N} compose results`, () => completes().length >= N, 600_000);
    // Nothing more comes: no change set is composed twice.
    await new Promise((r) => setTimeout(r, 2_000));
    const results = completes();
    expect(results.map((m) => m.topic)).toEqual(Array.from({ length: N }, () => `${prefix}.${composeTopic("complete")}`));
    expect(results.map((m) => (m.body as { change_set_id: string }).change_set_id).sort()).toEqual(sent.map((s) => s.body.change_set_id).sort());
    const queued = seen.filter((m) => m.topic === `${prefix}.${composeTopic("queued")}`);
    expect(queued).toHaveLength(N);

    const processed = await Promise.all(replicas.map((r) => counter(r, "atomic_ci_messages_processed_total")));
    expect(processed.reduce((a, b) => a + b, 0)).toBe(N);
    for (const [i, count] of processed.entries()) expect(count, `replica ${replicas[i]?.name ?? i} processed`).toBeGreaterThan(0);
    // One tree per kind of change set: the second compose of the same inputs reuses the commit.
    const commits = new Set(results.map((m) => (m.body as { commit: string }).commit));
    expect(commits.size).toBe(2);
    expect(results.filter((m) => !(m.body as { reused: boolean }).reused)).toHaveLength(2);
  }, 660_000);

  it("skip the same messages delivered again, on whichever replica gets them", async () => {
    const before = completes().length;
    for (const { id, body } of sent) await watch?.bus.publish(CHANGE_SET_QUEUED_TOPIC, body, { id, headers: { atomic_ci_change_set: body.change_set_id } });
    const duplicates = async () => (await Promise.all(replicas.map((r) => counter(r, "atomic_ci_messages_duplicate_total")))).reduce((a, b) => a + b, 0);
    await waitFor(`${N} duplicates skipped`, async () => (await duplicates()) >= N, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await duplicates()).toBe(N);
    expect(completes()).toHaveLength(before);
  }, 90_000);

  it("stop cleanly on SIGTERM", async () => {
    for (const r of replicas) r.child.kill("SIGTERM");
    expect(await Promise.all(replicas.map((r) => r.exit))).toEqual([0, 0]);
  }, 60_000);
});
