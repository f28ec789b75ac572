// The --json shapes of the commands that publish (messages publish, hold, unhold, rollback),
// run as `pnpm atomic-ci` runs them, against the real RabbitMQ: one JSON object on stdout,
// whose id is the message_id the broker delivered.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const AMQP_URL = process.env["ATOMIC_CI_TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
const prefix = `org.atomic-ci.json-${randomBytes(4).toString("hex")}`;
const queue = `${prefix}.watch`;
let connection: amqp.ChannelModel;
let channel: amqp.Channel;
let dir: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "cli", "src", "main.ts"), ...args], { cwd: ROOT, env: { ...process.env, AMQP_URL }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function delivered(): Promise<string | undefined> {
  for (let i = 0; i < 50; i++) {
    const m = await channel.get(queue, { noAck: true });
    if (m !== false) return m.properties.messageId as string;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

beforeAll(async () => {
  connection = await amqp.connect(AMQP_URL);
  channel = await connection.createChannel();
  await channel.assertQueue(queue, { exclusive: true });
  await channel.bindQueue(queue, "amq.topic", `${prefix}.#`);
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-json-"));
});

afterAll(async () => {
  await connection.close();
  await rm(dir, { recursive: true, force: true });
});

describe("--json on the publishing commands", () => {
  it("messages publish prints {id, routing_key, schema, broker}", async () => {
    const body = join(dir, "body.json");
    await writeFile(body, JSON.stringify({ version: "1.0.0", generated_at: "2026-01-02T03:04:05Z", requested_by: "alice", reason: "json test", action: "compose" }));
    const run = await cli(["messages", "publish", "--json", "--topic", "pipeline.operator.request", "--prefix", prefix, body]);
    expect(run.stderr).toBe("");
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(["broker", "id", "routing_key", "schema"]);
    expect(out).toMatchObject({ routing_key: `${prefix}.pipeline.operator.request`, schema: "atomic_ci.pipeline.OperatorRequestV1", });
    expect(out["broker"]).not.toContain("guest:guest");
    expect(await delivered()).toBe(out["id"]);
  });

  it("hold, unhold and rollback print {action, stream, id, routing_key, broker}", async () => {
    for (const args of [["hold", "stable", "--reason", "json test"], ["unhold", "stable"], ["rollback", "stable", "--to", "41.20260101.0"]]) {
      const run = await cli([...args, "--json", "--prefix", prefix]);
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(Object.keys(out).sort()).toEqual(["action", "broker", "id", "routing_key", "stream"]);
      expect(out).toMatchObject({ action: args[0], stream: "stable", routing_key: `${prefix}.pipeline.operator.request` });
      expect(await delivered()).toBe(out["id"]);
    }
  });
});
