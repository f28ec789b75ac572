// `request compose|rerun --wait` and `request --json`, run as `pnpm atomic-ci` runs them, against
// the real RabbitMQ. The test plays the pipeline: it waits for the operator request on the bus,
// then publishes what the trigger-listener, composer, test-runner and gatekeeper would answer
// (valid per @atomic-ci/messages), under a prefix of its own.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createGatekeeperService } from "@atomic-ci/gatekeeper";
import { runService } from "@atomic-ci/runtime";
import { MemoryResultsStore } from "@atomic-ci/testing";
import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withAmqpBus } from "../amqp-bus.js";
import { DEFAULT_CONTEXTS } from "../follow.js";
import { FAILED, PipelineScript, type Said } from "../follow.test-helper.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const AMQP_URL = process.env["ATOMIC_CI_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
const GATE = DEFAULT_CONTEXTS.compose;
let connection: amqp.ChannelModel;
let channel: amqp.Channel;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a subprocess; `CI` unset and stderr a pipe: plain progress lines. */
function cli(args: string[]): Promise<Run> {
  const { CI: _ci, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "cli", "src", "main.ts"), ...args], { cwd: ROOT, env: { ...env, AMQP_URL }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A prefix and a queue of the test's own that sees the operator requests published under it. */
async function pipelineSide(): Promise<{ prefix: string; request: () => Promise<{ id: string; body: Record<string, unknown> }>; say: (messages: Said[]) => Promise<void> }> {
  const prefix = `org.atomic-ci.wait-${randomBytes(4).toString("hex")}`;
  const queue = `${prefix}.requests`;
  await channel.assertQueue(queue, { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, "amq.topic", `${prefix}.pipeline.operator.request`);
  return {
    prefix,
    request: async () => {
      // Generous: the CLI subprocess compiles with tsx on a loaded machine.
      for (let i = 0; i < 900; i++) {
        const m = await channel.get(queue, { noAck: true });
        if (m !== false) return { id: m.properties.messageId as string, body: JSON.parse(m.content.toString("utf8")) as Record<string, unknown> };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("no operator request arrived");
    },
    say: (messages) =>
      withAmqpBus(AMQP_URL, { prefix, connectionName: "atomic-ci request --wait test pipeline" }, async (bus) => {
        for (const m of messages) await bus.publish(m.topic, m.body, { headers: m.headers });
      }),
  };
}

beforeAll(async () => {
  connection = await amqp.connect(AMQP_URL);
  channel = await connection.createChannel();
});

afterAll(async () => {
  await connection.close();
});

describe("request --wait", () => {
  it("compose --wait --json: follows the request to the compose gate's pass, exit 0", async () => {
    const side = await pipelineSide();
    const p = new PipelineScript(`cs-${randomBytes(8).toString("hex")}`, "a");
    const running = cli(["request", "compose", "--reason", "wait test", "--wait", "--json", "--timeout", "90", "--prefix", side.prefix]);
    const req = await side.request();
    expect(req.body["action"]).toBe("compose");
    await side.say([p.queued(req.id), p.compose("queued"), p.compose("running"), p.complete(), p.test("host", "queued"), p.test("host", "running"), p.test("host", "complete"), p.decision(GATE, true)]);
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    expect(out).toMatchObject({
      action: "compose",
      id: req.id,
      routing_key: `${side.prefix}.pipeline.operator.request`,
      wait: "gate",
      ok: true,
      stage: "compose gate passed",
      change_set_id: p.changeSetId,
      compose_id: p.composeId,
      commit: p.commit,
      tests: { passed: 1 },
    });
    expect(out["broker"]).not.toContain("guest:guest");
    // --json: no bar, one plain line per stage on stderr.
    expect(run.stderr).toContain("[1/8] queued: change set");
    expect(run.stderr).toContain("[5/8] compose gate: compose gate passed");
    expect(run.stderr).not.toContain("\x1b[");
  });

  it("compose --wait: a failed compose gate exits 1 and says which test failed", async () => {
    const side = await pipelineSide();
    const p = new PipelineScript(`cs-${randomBytes(8).toString("hex")}`, "b");
    const running = cli(["request", "compose", "--reason", "wait test", "--wait", "--timeout", "90", "--prefix", side.prefix]);
    const req = await side.request();
    await side.say([p.queued(req.id), p.compose("running"), p.complete(), p.test("host", "queued"), p.test("host", "complete", "failed"), p.decision(GATE, false, [FAILED])]);
    const run = await running;
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(`requested compose (${req.id})`);
    expect(run.stdout).toContain(`✗ compose gate failed (${p.changeSetId}, ${p.commit.slice(0, 12)}): Of 2 required tests, 1 test failed`);
    expect(run.stdout).toContain("  unsatisfied: atomic-ci.compose.host-tests.functional failed");
  });

  it("rerun --wait: a request the trigger-listener ignores exits 1 with its reason", async () => {
    const side = await pipelineSide();
    const p = new PipelineScript();
    const running = cli(["request", "rerun", "cs-0000000000000001", "--reason", "wait test", "--wait", "--json", "--timeout", "90", "--prefix", side.prefix]);
    const req = await side.request();
    expect(req.body).toMatchObject({ action: "rerun", change_set_id: "cs-0000000000000001" });
    await side.say([p.ignored(req.id)]);
    const run = await running;
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ action: "rerun", id: req.id, ok: false, stage: "ignored", change_set_id: null });
  });

  it("gives up after --timeout when nothing answers (exit 1)", async () => {
    const side = await pipelineSide();
    const run = await cli(["request", "compose", "--reason", "nobody listens", "--wait-for", "delivered", "--json", "--timeout", "2", "--prefix", side.prefix]);
    expect(run.code, run.stderr).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, stage: "timeout", wait: "delivered", reason: "no outcome within 2 s (no answer from the trigger-listener)" });
  });
});

describe("request --wait on a reused commit", () => {
  const HOST = "atomic-ci.compose.host-tests.functional";
  const POLICY = `--- !Policy
id: compose-gate
product_versions: [fedora-41]
decision_contexts: [${GATE}]
subject_type: compose
rules:
  - !PassingTestCaseRule {test_case_name: ${HOST}}
`;

  // The gatekeeper announces only decisions that change, and a reused commit's tests are not run
  // again: nothing on the bus decides, so --wait asks the (real, in-process) gatekeeper's API.
  it("asks the gatekeeper for the decision it will not announce again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "atomic-ci-wait-"));
    await writeFile(join(dir, "compose-gate.yaml"), POLICY);
    const definition = createGatekeeperService();
    const gatekeeper = await runService({
      ...definition,
      logDestination: new Writable({ write: (_c, _e, done) => done() }),
      processMetrics: false,
      config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 }, gatekeeper: { policies: { dir }, api: { host: "127.0.0.1", port: 0 }, batch: { windowMs: 0 } } } },
    });
    try {
      const gatekeeperUrl = `http://127.0.0.1:${definition.running?.apiPort ?? 0}/`;
      const p = new PipelineScript(`cs-${randomBytes(8).toString("hex")}`, "e");
      // The earlier run of the commit: its test passed, and the gatekeeper knows it.
      const stored = await new MemoryResultsStore().submit({ outcome: "PASSED", testcase: { name: HOST }, data: { item: [p.commit], type: ["compose"], change_set_id: ["cs-00000000000000ee"], scenario: ["x86_64"] } });
      await gatekeeper.bus.publish("resultsdb.result.new", stored);
      const ask = { decision_context: GATE, product_version: "fedora-41", subject_type: "compose", subject_identifier: p.commit };
      for (let i = 0; ; i++) {
        const res = await fetch(new URL("api/v1.0/decision", gatekeeperUrl), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ask) });
        if (((await res.json()) as { policies_satisfied?: boolean }).policies_satisfied === true) break;
        if (i > 200) throw new Error("the gatekeeper did not take the result");
        await new Promise((r) => setTimeout(r, 100));
      }

      const side = await pipelineSide();
      const running = cli(["request", "compose", "--reason", "no-op", "--wait", "--json", "--timeout", "90", "--gatekeeper", gatekeeperUrl, "--prefix", side.prefix]);
      const req = await side.request();
      await side.say([p.queued(req.id), p.compose("running"), p.complete(true)]);
      const run = await running;
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, stage: "compose gate passed", commit: p.commit, reused: true, compose_gate: { satisfied: true, unsatisfied: [] } });
    } finally {
      await gatekeeper.shutdown("test done");
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("request --json", () => {
  it("compose, rerun and rerun-test print {action, id, routing_key, broker}", async () => {
    const side = await pipelineSide();
    for (const args of [["compose"], ["rerun", "cs-0000000000000002"], ["rerun-test", "--compose", "c".repeat(64), "--test", "atomic-ci.compose.host-tests.functional"]]) {
      const run = await cli(["request", ...args, "--reason", "json test", "--json", "--prefix", side.prefix]);
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(Object.keys(out).sort()).toEqual(["action", "broker", "id", "routing_key"]);
      expect(out).toMatchObject({ action: args[0], routing_key: `${side.prefix}.pipeline.operator.request` });
      expect(out["broker"]).not.toContain("guest:guest");
      expect((await side.request()).id).toBe(out["id"]);
    }
  });

  it("rerun-test --api prints an unreachable API as {error}, exit 1", async () => {
    const run = await cli(["request", "rerun-test", "--compose", "c".repeat(64), "--test", "a.b.c", "--api", "http://127.0.0.1:9/", "--json"]);
    expect(run.code).toBe(1);
    expect(Object.keys(JSON.parse(run.stdout) as object)).toEqual(["error"]);
  });
});
