// The gatekeeper service on Redis (`redis.url` set), stopped and started again on the same keys:
// the second process announces its first decision with the first one's as `previous`, and its
// waiver ids continue.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { MemoryBroker } from "@atomic-ci/bus";
import { runService, type ServiceHandle } from "@atomic-ci/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../../../test/support/index.js";
import { RedisStores } from "./redis-store.js";
import { createGatekeeperService } from "./index.js";

const WATCH = "test.gatekeeper-restart-watch";
const TC = "fedora-ci.koji-build.tier0.functional";
const POLICY = `--- !Policy
id: package-gate
product_versions: [fedora-*]
decision_contexts: [bodhi_update_push_testing]
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: ${TC}}
`;

let dir: string;
let prefix: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-gatekeeper-restart-"));
  await writeFile(join(dir, "package-gate.yaml"), POLICY);
  prefix = uniqueName("test-gatekeeper-service");
});

afterAll(async () => {
  const cleaner = new RedisStores({ url: testServices().redisUrl, prefix });
  await cleaner.connect();
  const keys = await cleaner.client.keys(`${prefix}:*`);
  if (keys.length > 0) await cleaner.client.del(...keys);
  await cleaner.close();
  await rm(dir, { recursive: true, force: true });
});

/** The services' log lines, parsed (every line pino writes is one JSON object). */
const logged: Record<string, unknown>[] = [];
const logSink = new Writable({
  write: (chunk: Buffer, _e, done) => {
    for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logged.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

async function start(broker: MemoryBroker): Promise<{ handle: ServiceHandle; api: string }> {
  const definition = createGatekeeperService({ env: process.env });
  const handle = await runService({
    ...definition,
    broker,
    logDestination: logSink,
    processMetrics: false,
    config: {
      env: {},
      overrides: {
        http: { host: "127.0.0.1", port: 0 },
        redis: { url: testServices().redisUrl },
        gatekeeper: { policies: { dir }, store: { prefix }, batch: { windowMs: 50 }, api: { host: "127.0.0.1", port: 0 }, culprits: { enabled: false } },
      },
    },
  });
  if (!definition.running) throw new Error("gatekeeper did not start");
  return { handle, api: `http://127.0.0.1:${definition.running.apiPort}` };
}

async function nextUpdate(broker: MemoryBroker): Promise<Record<string, unknown>> {
  for (let i = 0; i < 500; i++) {
    const [wire] = broker.take(WATCH);
    if (wire) return JSON.parse(wire.body.toString("utf8")) as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("no decision update");
}

const result = (id: number, outcome: string) => ({ id, outcome, testcase: { name: TC }, data: { item: ["podman-5.3.0-1.fc41"], type: ["koji_build"] }, submit_time: new Date(Date.UTC(2025, 0, 1, 0, 0, id)).toISOString(), note: null });
const waiver = { subject_type: "koji_build", subject_identifier: "bash-5.2.37-1.fc41", testcase: TC, product_version: "fedora-41", comment: "c", username: "alice" };

describe("gatekeeper service on Redis, restarted", () => {
  it("keeps previous decisions and waiver ids across a restart", async () => {
    const broker = new MemoryBroker();
    broker.bind(WATCH, "amq.topic", "#.greenwave.decision.update");
    const first = await start(broker);
    await first.handle.bus.publish("resultsdb.result.new", result(1, "FAILED"), { topicPrefix: "org.fedoraproject.prod" });
    expect(await nextUpdate(broker)).toMatchObject({ subject_identifier: "podman-5.3.0-1.fc41", policies_satisfied: false, previous: null });
    const w1 = (await (await fetch(`${first.api}/api/v1.0/waivers`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(waiver) })).json()) as { id: number };
    expect(await nextUpdate(broker)).toMatchObject({ subject_identifier: "bash-5.2.37-1.fc41", policies_satisfied: true });
    await first.handle.shutdown("restart");

    const second = await start(broker);
    await second.handle.bus.publish("resultsdb.result.new", result(2, "PASSED"), { topicPrefix: "org.fedoraproject.prod" });
    expect(await nextUpdate(broker)).toMatchObject({ subject_identifier: "podman-5.3.0-1.fc41", policies_satisfied: true, previous: { policies_satisfied: false } });
    const w2 = (await (await fetch(`${second.api}/api/v1.0/waivers`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...waiver, waived: false }) })).json()) as { id: number };
    expect(w2.id).toBeGreaterThan(w1.id);
    expect(await nextUpdate(broker)).toMatchObject({ subject_identifier: "bash-5.2.37-1.fc41", policies_satisfied: false, previous: { policies_satisfied: true } });
    const listed = (await (await fetch(`${second.api}/api/v1.0/waivers`)).json()) as { data: { id: number }[] };
    expect(listed.data.map((w) => w.id)).toEqual([w2.id, w1.id]);
    await second.handle.shutdown("test done");
  }, 60_000);

  it("logs one line per stored result and waiver: what was stored, never the waiver's comment", async () => {
    const broker = new MemoryBroker();
    const { handle } = await start(broker);
    logged.length = 0;
    await handle.bus.publish("resultsdb.result.new", result(7, "PASSED"), { topicPrefix: "org.fedoraproject.prod" });
    const secretComment = "contains-token-abc123";
    await handle.bus.publish("waiverdb.waiver.new", { ...waiver, id: 41, waived: true, proxied_by: null, scenario: null, timestamp: "2025-01-02T00:00:00Z", comment: secretComment }, { topicPrefix: "org.fedoraproject.prod" });
    const stored = async () => {
      for (let i = 0; i < 500; i++) {
        const lines = logged.filter((l) => l["msg"] === "result stored" || l["msg"] === "waiver stored");
        if (lines.length >= 2) return lines;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error("no stored lines");
    };
    const lines = await stored();
    await handle.shutdown("test done");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ msg: "result stored", result_id: 7, testcase: TC, outcome: "PASSED", subjects: ["koji_build:podman-5.3.0-1.fc41"], consumer: expect.any(String) as unknown, message_id: expect.any(String) as unknown });
    expect(lines[1]).toMatchObject({ msg: "waiver stored", waiver_id: 41, subject: "koji_build:bash-5.2.37-1.fc41", testcase: TC, waived: true, subjects: ["koji_build:bash-5.2.37-1.fc41"] });
    expect(JSON.stringify(logged)).not.toContain(secretComment);
  }, 60_000);
});
