// The publisher on RabbitMQ and Redis with real ostree, gpg and git: composes, images and gate
// decisions go in over the broker; what comes out is checked in the public tree and in the
// release messages. The gatekeeper's decision API is a small local stand-in answering in
// Greenwave's shape (the real gatekeeper is tested in its own suite).
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AmqpTransport, Bus, MemoryIdempotencyStore, resolveAmqpOptions, type BusMessage } from "@atomic-ci/bus";
import { closeServer, listen, readBody, sendJson } from "@atomic-ci/http";
import { defaultRegistry, PIPELINE_SPEC_VERSION } from "@atomic-ci/messages";
import { generateThrowawayKey, layout, ReleasesIndex, UpdatesJson, type ThrowawayKey } from "@atomic-ci/publish";
import { defineService, runService, type ServiceHandle } from "@atomic-ci/runtime";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import { gitAdd, gitCommit, gitInit, runTool } from "@atomic-ci/tools";
import { runCli } from "../../../test/support/cli.js";
import { testServices, uniqueName } from "../../../test/support/index.js";
import { createPublisherService, type PublisherServiceDefinition } from "./index.js";
import { RedisPublisherStore } from "./redis-store.js";

const env = process.env;
const ctx = { env };
const REF = "fedora/41/x86_64/atomic-host";
const GATES = ["atomic_ci_compose_gate", "atomic_ci_image_gate"];
const quiet = new Writable({ write: (_chunk, _enc, done) => done() });

interface Seen {
  topic: string;
  body: Record<string, unknown>;
}

let base: string;
let pipelineRepo: string;
let publicDir: string;
let definitionRepo: string;
let key: ThrowawayKey;
let gatekeeper: Server;
let gatekeeperUrl: string;
/** What the stand-in gatekeeper answers: commit → context → satisfied, or an HTTP status to fail with. */
const answers = new Map<string, Record<string, boolean>>();
let failWith: number | undefined;
const asked: string[] = [];
const commits: string[] = [];
const versions = ["41.20261126.0", "41.20261126.1", "41.20261126.2", "41.20261126.3"];
const metas: string[] = [];
let clock = new Date("2026-11-26T12:00:00Z");

const prefix = `org.atomic-ci.${uniqueName("pub").replace(/-/g, "")}`;
const queue = uniqueName("atomic-ci.test-publisher");
const watchQueue = uniqueName("atomic-ci.test-publisher-watch");
const keyPrefix = uniqueName("test-publisher");
const mallory = uniqueName("mallory");
const malloryPassword = randomBytes(8).toString("hex");

let definition: PublisherServiceDefinition;
let publisher: ServiceHandle;
let watcher: ServiceHandle;
let forger: Bus;
const seen: Seen[] = [];

async function tool(cmd: string, ...args: string[]): Promise<string> {
  return (await runTool(cmd, args, { env, timeoutMs: 60_000 })).stdout.trim();
}

async function commitDefinition(policy: string, message: string): Promise<void> {
  await writeFile(join(definitionRepo, "delivery.yaml"), policy);
  await gitAdd(definitionRepo, ctx);
  await gitCommit(definitionRepo, { ...ctx, message, author: { name: "Tester", email: "tester@example.invalid", date: new Date() } });
}

const POLICY = `streams:
  testing: {}
  stable:
    from: testing
    soak: 1d
`;

async function waitFor(match: (m: Seen) => boolean, what: string, timeoutMs = 30_000, from = 0): Promise<Seen> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = seen.slice(from).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen: ${seen.map((s) => `${s.topic} ${String(s.body.stream)} ${String(s.body.os_version)}`).join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const topic = (t: string) => `${prefix}.${t}`;
const of = (t: string, stream: string, i: number) => (m: Seen) => m.topic === topic(t) && m.body.stream === stream && m.body.commit === commits[i];
const count = (t: string, stream: string, i: number) => seen.filter(of(t, stream, i)).length;

function composeBody(i: number) {
  const commit = commits[i] ?? "";
  return {
    change_set_id: `cs-${createHash("sha256").update(String(i)).digest("hex").slice(0, 16)}`,
    compose_id: `atomic-ci-${i}`,
    version: PIPELINE_SPEC_VERSION,
    generated_at: new Date().toISOString(),
    ref: REF,
    commit,
    os_version: versions[i],
    input_hash: "a".repeat(64),
    repo: { location: pipelineRepo },
    lockfile: { location: "/nonexistent/manifest-lock.x86_64.json", sha256: "b".repeat(64) },
    pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] },
    reused: false,
    timestamp: new Date(Date.UTC(2026, 10, 26, 10, i)).toISOString(),
  };
}

async function imageBody(i: number) {
  const disk = await readFile(join(base, `images-${i}`, "disk.qcow2"));
  return {
    compose_id: `atomic-ci-${i}`,
    ref: REF,
    commit: commits[i],
    version: PIPELINE_SPEC_VERSION,
    generated_at: new Date().toISOString(),
    os_version: versions[i],
    images: { qcow2: { path: join(base, `images-${i}`, "disk.qcow2"), sha256: createHash("sha256").update(disk).digest("hex"), size: disk.length } },
    meta: { location: metas[i] },
    reused: [],
  };
}

function decision(i: number, context: string, satisfied = true) {
  return {
    subject_type: "compose",
    subject_identifier: commits[i],
    product_version: "fedora-41",
    decision_context: context,
    policies_satisfied: satisfied,
    summary: satisfied ? "All required tests passed" : "1 of 2 required tests failed",
    applicable_policies: [`policy-${context}`],
    unsatisfied_requirements: [],
  };
}

/** compose.complete, image.complete and both gates' decisions of commit i, from the trusted account. */
async function feed(i: number, satisfied = true): Promise<void> {
  answers.set(commits[i] ?? "", Object.fromEntries(GATES.map((g) => [g, satisfied])));
  await watcher.bus.publish("pipeline.compose.complete", composeBody(i));
  await watcher.bus.publish("pipeline.image.complete", await imageBody(i));
  for (const context of GATES) await watcher.bus.publish("greenwave.decision.update", decision(i, context));
}

/** `pnpm atomic-ci hold|unhold|rollback STREAM` as an operator runs it, against the test's broker and prefix. */
async function operator(action: "hold" | "unhold" | "rollback", stream: string): Promise<void> {
  const result = await runCli([action, stream, "--reason", `test ${action}`, "--by", "alice", "--prefix", prefix], { AMQP_URL: testServices().amqpUrl });
  expect(result.stderr).toBe("");
  expect(result.stdout).toMatch(new RegExp(`^requested ${action} of ${stream} `));
  expect(result.code).toBe(0);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "atomic-ci-publisher-"));
  pipelineRepo = join(base, "pipeline-repo");
  publicDir = join(base, "public");
  definitionRepo = join(base, "definition");

  // Four small real commits on one ref, each with a version, and a meta.json with one "image" each.
  await tool("ostree", "init", `--repo=${pipelineRepo}`, "--mode=archive");
  for (let i = 0; i < versions.length; i++) {
    const tree = join(base, `tree-${i}`);
    await mkdir(join(tree, "usr", "lib"), { recursive: true });
    await writeFile(join(tree, "usr", "lib", "os-release"), `VERSION_ID=41\nBUILD=${i}\n`);
    commits.push(await tool("ostree", "commit", `--repo=${pipelineRepo}`, `--branch=${REF}`, `--tree=dir=${tree}`, `--add-metadata-string=version=${versions[i] ?? ""}`, "-s", `compose ${i}`));
    const images = join(base, `images-${i}`);
    await mkdir(images, { recursive: true });
    const disk = randomBytes(4096);
    await writeFile(join(images, "disk.qcow2"), disk);
    const meta = join(images, "meta.json");
    await writeFile(meta, JSON.stringify({ name: "fedora-atomic-host", buildid: versions[i], "ostree-commit": commits[i], images: { qcow2: { path: "disk.qcow2", sha256: createHash("sha256").update(disk).digest("hex"), size: disk.length } } }));
    metas.push(meta);
  }

  await gitInit(definitionRepo, { ...ctx, branch: "f41" });
  await commitDefinition(POLICY, "delivery policy");
  key = await generateThrowawayKey(join(base, "key"), ctx);

  gatekeeper = createServer((req, res) => {
    void (async () => {
      const body = JSON.parse(await readBody(req)) as { subject_identifier: string; decision_context: string };
      asked.push(`${body.subject_identifier.slice(0, 8)}@${body.decision_context}`);
      if (failWith !== undefined) return sendJson(res, failWith, { message: "ResultsDB is down" });
      const satisfied = answers.get(body.subject_identifier)?.[body.decision_context];
      if (satisfied === undefined) return sendJson(res, 404, { message: "Found no applicable policies" });
      sendJson(res, 200, {
        policies_satisfied: satisfied,
        summary: satisfied ? "All required tests passed" : "1 of 1 required test results failed",
        applicable_policies: [body.decision_context],
        satisfied_requirements: [],
        unsatisfied_requirements: satisfied ? [] : [{ type: "test-result-failed", testcase: "atomic-ci.compose.image-tests.functional", subject_type: "compose", subject_identifier: body.subject_identifier }],
      });
    })();
  });
  gatekeeperUrl = `http://127.0.0.1:${await listen(gatekeeper, "127.0.0.1", 0)}`;

  // A second broker account: RabbitMQ stamps its name on what it publishes, so its "decisions" are not the gatekeeper's.
  await tool("rabbitmqctl", "add_user", mallory, malloryPassword);
  await tool("rabbitmqctl", "set_permissions", "-p", "/", mallory, ".*", ".*", ".*");

  const { amqpUrl, redisUrl } = testServices();
  definition = createPublisherService({ env, now: () => clock });
  publisher = await runService({
    ...definition,
    logDestination: quiet,
    processMetrics: false,
    config: {
      env: { AMQP_URL: amqpUrl, REDIS_URL: redisUrl },
      overrides: {
        http: { host: "127.0.0.1", port: 0 },
        redis: { keyPrefix: `${keyPrefix}:idem` },
        bus: {
          queue,
          topicPrefix: prefix,
          amqp: { queueType: "classic" },
          bindings: ["greenwave.decision.update", "pipeline.compose.complete", "pipeline.image.complete", "pipeline.operator.request"].map(topic),
        },
        publisher: {
          publicDir,
          gpg: { homedir: key.homedir, keyId: key.keyId },
          gatekeeperUrl,
          trust: { gatekeeperUser: new URL(amqpUrl).username || "guest" },
          definition: { repo: definitionRepo, branch: "f41" },
          stateKeyPrefix: keyPrefix,
          compressionLevel: 1,
          tickSeconds: 0.5,
        },
      },
    },
  });
  watcher = await runService({
    ...defineService({
      name: "publisher-watch",
      bindings: [topic("pipeline.release.#")],
      handle: (message: BusMessage) => {
        seen.push({ topic: message.topic, body: message.body as Record<string, unknown> });
        return Promise.resolve();
      },
    }),
    logDestination: quiet,
    processMetrics: false,
    config: {
      env: { AMQP_URL: amqpUrl },
      overrides: { http: { host: "127.0.0.1", port: 0 }, bus: { queue: watchQueue, topicPrefix: prefix, amqp: { queueType: "classic" } } },
    },
  });
  const url = new URL(amqpUrl);
  url.username = mallory;
  url.password = malloryPassword;
  forger = new Bus(
    { transport: new AmqpTransport(resolveAmqpOptions({ url: url.href })), registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics: createMetrics(), logger: silentLogger() },
    { topicPrefix: prefix },
  );
  await forger.connect();
}, 120_000);

afterAll(async () => {
  await forger.close().catch(() => undefined);
  await publisher.shutdown("test over").catch(() => undefined);
  await watcher.shutdown("test over").catch(() => undefined);
  await closeServer(gatekeeper, "all").catch(() => undefined);
  await key.dispose();
  await tool("rabbitmqctl", "delete_user", mallory).catch(() => undefined);
  const { redisUrl } = testServices();
  for (const q of [queue, `${queue}.dead-letter`, watchQueue, `${watchQueue}.dead-letter`]) await tool("rabbitmqctl", "delete_queue", q).catch(() => undefined);
  const store = new RedisPublisherStore({ url: redisUrl, prefix: keyPrefix });
  await store.connect();
  const keys = await store.client.keys(`${keyPrefix}:*`);
  if (keys.length > 0) await store.client.del(...keys);
  await store.close();
  await rm(base, { recursive: true, force: true });
}, 60_000);

interface Reason {
  kind: string;
  detail: string;
  until?: string;
}

function reasonsOf(m: Seen): Reason[] {
  return m.body.reasons as Reason[];
}

/** What blocks a release: its reasons less the inputs still awaited (the images message, a first gate decision). */
function blocking(m: Seen): Reason[] {
  return reasonsOf(m).filter((r) => r.kind !== "incomplete" && !r.detail.startsWith("no decision at "));
}

/** The held message's blocking reasons are exactly these kinds, in order, with details matching. */
function expectReasons(m: Seen, expected: [string, RegExp][]): void {
  const reasons = blocking(m);
  expect(reasons.map((r) => r.kind)).toEqual(expected.map(([kind]) => kind));
  expected.forEach(([, detail], i) => expect(reasons[i]?.detail).toMatch(detail));
}

async function evaluate(): Promise<void> {
  await definition.running?.evaluate();
}

async function refOf(stream: string): Promise<string> {
  return tool("ostree", "rev-parse", `--repo=${join(publicDir, "repo", stream)}`, REF);
}

async function releases(stream: string): Promise<string[]> {
  const text = await readFile(join(publicDir, layout.releases(stream)), "utf8");
  return ReleasesIndex.parse(JSON.parse(text)).releases.map((r) => r.version);
}

describe("the publisher service", () => {
  it("ignores gate decisions from any broker account but the gatekeeper's", async () => {
    answers.set(commits[0] ?? "", { atomic_ci_compose_gate: true, atomic_ci_image_gate: true });
    await watcher.bus.publish("pipeline.compose.complete", composeBody(0));
    await watcher.bus.publish("pipeline.image.complete", await imageBody(0));
    for (const context of GATES) await forger.publish("greenwave.decision.update", decision(0, context));
    const untrusted = async () => (await publisher.metrics.publisherUntrusted.get()).values.reduce((n, v) => n + v.value, 0);
    const deadline = Date.now() + 20_000;
    while ((await untrusted()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await untrusted()).toBe(2);
    await evaluate();
    expect(count("pipeline.release.delivered", "testing", 0)).toBe(0);
    expect(asked).toEqual([]);
  });

  it("delivers a compose once both gates passed, asking the gatekeeper again first; the promoted stream waits for its soak", async () => {
    for (const context of GATES) await watcher.bus.publish("greenwave.decision.update", decision(0, context));
    const delivered = await waitFor(of("pipeline.release.delivered", "testing", 0), "delivery to testing");
    expect(delivered.body).toMatchObject({ os_version: versions[0], ref: REF, already_promoted: false, compose_id: "atomic-ci-0" });
    expect((delivered.body.public as { images: string[] }).images).toEqual([expect.stringMatching(/fedora-atomic-host-41\.20261126\.0-qemu\.x86_64\.qcow2\.(xz|gz)$/)]);
    expect(asked).toEqual(expect.arrayContaining([`${(commits[0] ?? "").slice(0, 8)}@atomic_ci_compose_gate`, `${(commits[0] ?? "").slice(0, 8)}@atomic_ci_image_gate`]));
    expect(await refOf("testing")).toBe(commits[0]);
    expect(await releases("testing")).toEqual([versions[0]]);
    // The commit is signed, and the summary too (test/publish verifies the signatures as a client).
    expect(await tool("ostree", "show", `--repo=${join(publicDir, "repo", "testing")}`, commits[0] ?? "")).toContain(`Found 1 signature:`);
    expect(await readFile(join(publicDir, "repo", "testing", "summary.sig")).then((b) => b.length)).toBeGreaterThan(0);
    const held = await waitFor(of("pipeline.release.held", "stable", 0), "stable held for soak");
    expectReasons(held, [["soak", /^in testing since .*; 1d of soak needed$/]]);
    expect(blocking(held)[0]?.until).toBeDefined();

    // The same decisions again, and more evaluations: delivered once, held once.
    for (const context of GATES) await watcher.bus.publish("greenwave.decision.update", decision(0, context));
    await new Promise((r) => setTimeout(r, 1500));
    await evaluate();
    expect(count("pipeline.release.delivered", "testing", 0)).toBe(1);
    expect(count("pipeline.release.held", "stable", 0)).toBe(1);
  });

  it("promotes to stable once the soak time has passed", async () => {
    clock = new Date(clock.getTime() + 25 * 3_600_000);
    const delivered = await waitFor(of("pipeline.release.delivered", "stable", 0), "promotion to stable");
    expect(delivered.body).toMatchObject({ from_stream: "testing", os_version: versions[0] });
    expect(await refOf("stable")).toBe(commits[0]);
    expect(await releases("stable")).toEqual([versions[0]]);
  });

  it("a freeze holds a good compose with its reason, and a commit lifting it releases it", async () => {
    const start = new Date(clock.getTime() - 3_600_000).toISOString();
    const end = new Date(clock.getTime() + 86_400_000).toISOString();
    await commitDefinition(`${POLICY}freezes:\n  - {start: "${start}", end: "${end}", reason: "release engineering freeze", streams: [testing]}\n`, "freeze testing");
    await feed(1);
    const held = await waitFor(of("pipeline.release.held", "testing", 1), "held by the freeze");
    expectReasons(held, [["freeze", /release engineering freeze$/]]);
    expect(blocking(held)[0]?.until).toBe(end);
    await new Promise((r) => setTimeout(r, 1200));
    expect(count("pipeline.release.held", "testing", 1)).toBe(1);
    expect(count("pipeline.release.delivered", "testing", 1)).toBe(0);

    await commitDefinition(POLICY, "lift the freeze");
    // No message needed: the timer reads the policy again.
    await waitFor(of("pipeline.release.delivered", "testing", 1), "delivered once the freeze is lifted");
    expect(await refOf("testing")).toBe(commits[1]);
  });

  it("an invalid policy is reported and the last good one stays in force", async () => {
    await commitDefinition("streams:\n  testing: {from: nowhere}\n", "broken policy");
    const report = await definition.running?.evaluate();
    expect(report?.policyError).toMatch(/streams\.testing\.from: no stream nowhere/);
    // Still the good policy: stable still waits for its soak (and nothing crashed).
    await commitDefinition(POLICY, "fix the policy");
    expect((await definition.running?.evaluate())?.policyError).toBeUndefined();
  });

  it("a manual hold holds every compose until it is lifted, then it goes out with no other step", async () => {
    const from = seen.length;
    await operator("hold", "testing");
    await waitFor((m) => m.topic === topic("pipeline.release.hold-set") && m.body.stream === "testing", "hold-set", 30_000, from);
    await feed(2);
    const held = await waitFor(of("pipeline.release.held", "testing", 2), "held by hand");
    expectReasons(held, [["manual-hold", /^held by alice since .*: test hold$/]]);
    await operator("unhold", "testing");
    await waitFor((m) => m.topic === topic("pipeline.release.hold-lifted") && m.body.stream === "testing", "hold-lifted", 30_000, from);
    await waitFor(of("pipeline.release.delivered", "testing", 2), "delivered after unhold");
    expect(await refOf("testing")).toBe(commits[2]);
  }, 180_000);

  it("never delivers when the gatekeeper cannot answer, or answers that a gate is not satisfied", async () => {
    failWith = 503;
    await feed(3);
    const down = await waitFor(of("pipeline.release.held", "testing", 3), "held: gatekeeper down");
    expectReasons(down, [["gate", /answered 503 .*ResultsDB is down/]]);
    failWith = undefined;
    answers.set(commits[3] ?? "", { atomic_ci_compose_gate: true, atomic_ci_image_gate: false });
    await waitFor((m) => of("pipeline.release.held", "testing", 3)(m) && JSON.stringify(m.body.reasons).includes("atomic_ci_image_gate not satisfied: 1 of 1 required test results failed"), "held: gate unsatisfied on asking again");
    await new Promise((r) => setTimeout(r, 1200));
    expect(count("pipeline.release.delivered", "testing", 3)).toBe(0);
    expect(await refOf("testing")).toBe(commits[2]);

    // The gate passes again (a new decision message), and it goes out.
    answers.set(commits[3] ?? "", { atomic_ci_compose_gate: true, atomic_ci_image_gate: true });
    await watcher.bus.publish("greenwave.decision.update", decision(3, "atomic_ci_image_gate"));
    await waitFor(of("pipeline.release.delivered", "testing", 3), "delivered once the gate passes");
  });

  it("rolls a stream back on request: the ref moves back, signed, and the withdrawn release is a dead-end", async () => {
    await operator("rollback", "testing");
    const rolled = await waitFor((m) => m.topic === topic("pipeline.release.rolled-back") && m.body.stream === "testing", "rolled-back");
    expect(rolled.body).toMatchObject({ os_version: versions[2], commit: commits[2], withdrawn: [versions[3]], already_there: false, requested_by: "alice" });
    expect(await refOf("testing")).toBe(commits[2]);
    const updates = UpdatesJson.parse(JSON.parse(await readFile(join(publicDir, layout.updates("testing")), "utf8")));
    expect(updates.releases.find((r) => r.version === versions[3])?.metadata.deadend?.reason).toMatch(/test rollback/);
    // The withdrawn compose is not delivered again, to testing or (after its soak) to stable.
    clock = new Date(clock.getTime() + 3 * 86_400_000);
    await evaluate();
    await evaluate();
    expect(count("pipeline.release.delivered", "testing", 3)).toBe(1);
    expect(count("pipeline.release.delivered", "stable", 3)).toBe(0);
    expect(await releases("stable")).toContain(versions[2]);
  }, 180_000);
});
