import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FEDORA_FIXTURES, runCli, startCli } from "../support/cli.js";
import { testServices, uniqueName } from "../support/index.js";

function lines(stream: NodeJS.ReadableStream): { all: string[]; waitFor(n: number, timeoutMs: number): Promise<string[]> } {
  const all: string[] = [];
  let buffer = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    all.push(...parts.filter((p) => p.length > 0));
  });
  return {
    all,
    async waitFor(n, timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (all.length < n) {
        if (Date.now() > end) throw new Error(`expected ${n} lines, got ${all.length}: ${all.join(" | ")}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return all;
    },
  };
}

describe("atomic-ci messages publish and tail on RabbitMQ", () => {
  it("tail prints what publish sent, decoded, then exits after --count", async () => {
    const env = { AMQP_URL: testServices().amqpUrl };
    // A prefix no other test uses, so tail sees only this test's messages.
    const prefix = `org.${uniqueName("clitest")}`;
    const tail = startCli(["messages", "tail", "--bind", `${prefix}.#`, "--count", "2"], env);
    const out = lines(tail.stdout as NodeJS.ReadableStream);
    const err = lines(tail.stderr as NodeJS.ReadableStream);
    const exited = new Promise<number | null>((resolve) => tail.once("exit", resolve));
    await err.waitFor(1, 30_000); // "tailing ..." once the queue is bound

    const koji = await runCli(["messages", "publish", "--topic", "buildsys.build.state.change", "--prefix", prefix, join(FEDORA_FIXTURES, "buildsys.build.state.change.json")], env);
    expect(koji.stderr).toBe("");
    expect(koji.code).toBe(0);
    const [, id] = /^published (\S+) to (\S+)/.exec(koji.stdout) ?? [];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const dir = mkdtempSync(join(tmpdir(), "atomic-ci-cli-"));
    const body = join(dir, "tag.json");
    writeFileSync(body, JSON.stringify({ build_id: 7, name: "ostree", version: "2024.8", release: "1.fc41", tag: "f41-updates-candidate", tag_id: 1, user: "bodhi", owner: "walters", instance: "primary" }));
    const tag = await runCli(["messages", "publish", "--topic", "buildsys.tag", "--prefix", prefix, "--severity", "30", body], env);
    expect(tag.code).toBe(0);

    await out.waitFor(2, 30_000);
    expect(await exited).toBe(0);
    const [first, second] = out.all.map((l) => JSON.parse(l) as { topic: string; id: string; schema: string; headers: Record<string, unknown>; body: Record<string, unknown> });
    expect(first).toMatchObject({
      topic: `${prefix}.buildsys.build.state.change`,
      id,
      schema: "koji_fedoramessaging.build.BuildStateChangeV1",
      headers: { fedora_messaging_user_spot: true, "fedora_messaging_rpm_prusa-slicer": true, fedora_messaging_severity: 20 },
      body: { name: "prusa-slicer", new: 4, old: 0 },
    });
    expect(second).toMatchObject({ topic: `${prefix}.buildsys.tag`, schema: "koji_fedoramessaging.tag.TagV1", headers: { fedora_messaging_severity: 30 }, body: { name: "ostree" } });
  });

  it("publish refuses a body that fails the topic's schema, naming the field, and sends nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-ci-cli-"));
    const body = join(dir, "bad.json");
    writeFileSync(body, JSON.stringify({ build_id: "seven", name: "ostree" }));
    const r = await runCli(["messages", "publish", "--topic", "buildsys.tag", body], { AMQP_URL: testServices().amqpUrl });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("build_id");
  });

  it("publish fails clearly when nothing is bound to the topic (mandatory publishing)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-ci-cli-"));
    const body = join(dir, "tag.json");
    writeFileSync(body, JSON.stringify({ build_id: 7, name: "ostree", version: "1", release: "1", tag: "t" }));
    const r = await runCli(["messages", "publish", "--topic", "buildsys.tag", "--prefix", `org.${uniqueName("nobody")}`, body], { AMQP_URL: testServices().amqpUrl });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unroutable|returned/i);
  });

  it("request compose and request rerun publish schema-valid operator requests with user and package headers", async () => {
    const env = { AMQP_URL: testServices().amqpUrl };
    const prefix = `org.${uniqueName("clireq")}`;
    const tail = startCli(["messages", "tail", "--bind", `${prefix}.pipeline.operator.request`, "--count", "2"], env);
    const out = lines(tail.stdout as NodeJS.ReadableStream);
    const err = lines(tail.stderr as NodeJS.ReadableStream);
    const exited = new Promise<number | null>((resolve) => tail.once("exit", resolve));
    await err.waitFor(1, 30_000);

    const compose = await runCli(["request", "compose", "--reason", "https://tracker.example/1", "--package", "ostree", "--by", "alice", "--prefix", prefix], env);
    expect(compose.stderr).toBe("");
    expect(compose.code).toBe(0);
    const rerun = await runCli(["request", "rerun", "cs-0123456789abcdef", "--reason", "infra flake", "--by", "bob", "--prefix", prefix], env);
    expect(rerun.code).toBe(0);

    await out.waitFor(2, 30_000);
    expect(await exited).toBe(0);
    const [first, second] = out.all.map((l) => JSON.parse(l) as { schema: string; headers: Record<string, unknown>; body: Record<string, unknown> });
    expect(first).toMatchObject({
      schema: "atomic_ci.pipeline.OperatorRequestV1",
      headers: { fedora_messaging_user_alice: true, fedora_messaging_rpm_ostree: true },
      body: { action: "compose", packages: ["ostree"], requested_by: "alice", reason: "https://tracker.example/1" },
    });
    expect(second).toMatchObject({ body: { action: "rerun", change_set_id: "cs-0123456789abcdef", requested_by: "bob" } });
  });

  it("request needs a reason, and rerun a change set id (usage errors)", async () => {
    const env = { AMQP_URL: testServices().amqpUrl };
    expect((await runCli(["request", "compose"], env)).code).toBe(2);
    expect((await runCli(["request", "rerun", "--reason", "x"], env)).code).toBe(2);
    const bad = await runCli(["request", "rerun", "not-a-change-set", "--reason", "x", "--prefix", `org.${uniqueName("clireq")}`], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("change_set_id");
  });
});
