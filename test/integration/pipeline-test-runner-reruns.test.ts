// The test-runner with results in Redis, against the fixture world: the compose gate's
// whole-host test set (measured), a test re-run on request by the API (`run.trigger_rebuild`),
// by the CLI and by a bus message, and results and plans that survive a restart of the runner.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_REQUEST_TOPIC, PIPELINE_SPEC_VERSION, testCaseName, type ResultsdbResult } from "@atomic-ci/messages";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { createTestRunnerService, type TestRunnerService } from "@atomic-ci/test-runner";
import { runCli, startCli } from "../support/cli.js";
import { testServices, uniqueName } from "../support/index.js";
import { findBuild, kojiBuildComplete, pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";
import { quietLogs, startPipelineRun, type PipelineRun, type Seen, type Watcher } from "./pipeline-support.js";

const PACKAGE_SUMMARY = "atomic-ci.compose.package-tests.functional";
const HOST_SUMMARY = "atomic-ci.compose.host-tests.functional";

let pipeline: PipelineRun;
let world: FixtureWorld;
let listener: ServiceHandle;
let runnerGroup: GroupHandle;
let testRunner: TestRunnerService;
let api: string;
const prefix = uniqueName("test-reruns");
let seen: Seen[];
let watcher: Watcher;

const waitFor = (match: (m: Seen) => boolean, timeoutMs = 240_000, from = 0): Promise<Seen> => watcher.waitFor(match, timeoutMs, from);
const testcase = (m: Seen) => testCaseName(m.body as { test: { namespace: string; type: string; category: string } });
const resultName = (m: Seen) => (m.body["testcase"] as { name: string }).name;
const isFinal = (m: Seen) => /ci\.productmd-compose\.test\.(complete|error)$/.test(m.topic);

/** A test-runner on the shared broker with its results in Redis (under this file's prefix). */
async function startRunner(): Promise<void> {
  testRunner = createTestRunnerService({ env: process.env });
  const base = pipelinePerService(world, pipeline.dir)["test-runner"]?.config.overrides ?? {};
  runnerGroup = await runServices([testRunner], {
    broker: pipeline.broker,
    logDestination: quietLogs(),
    processMetrics: false,
    perService: {
      "test-runner": {
        config: {
          env: {},
          overrides: {
            ...base,
            redis: { url: testServices().redisUrl, keyPrefix: `${prefix}:idem` },
            testRunner: { ...(base["testRunner"] as Record<string, unknown>), results: { redisPrefix: prefix } },
          },
        },
      },
    },
  });
  api = `http://127.0.0.1:${testRunner.apiPort()}`;
}

beforeAll(async () => {
  pipeline = await startPipelineRun({ name: "reruns", watch: ["#.pipeline.#", "#.ci.productmd-compose.test.#", "#.resultsdb.result.new"] });
  ({ world, listener, seen, watcher } = pipeline);
  await startRunner();
}, 180_000);

afterAll(async () => {
  await runnerGroup.shutdown("test done");
  await pipeline.stop(async () => {
    const redis = new Redis(testServices().redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
});

let commit: string;
let composeId: string;
/** An unchanged host package's test (bash's), taken from the whole-host set. */
let bashTest: string;

describe("the compose gate's whole-host set, and re-runs on request", () => {
  it("runs every host package's dist-git tests on a new commit, under the package-tests summary (timed)", async () => {
    const nvr = "ostree-2024.9-1.fc41";
    await listener.bus.publish(kojiBuildComplete(findBuild(world, nvr)).topic, kojiBuildComplete(findBuild(world, nvr)).body, { topicPrefix: "org.fedoraproject.prod" });
    const queued = await waitFor((m) => m.topic.endsWith("pipeline.change-set.queued") && JSON.stringify(m.body["members"]).includes(nvr));
    const complete = await waitFor((m) => m.topic.endsWith("pipeline.compose.complete") && m.body["change_set_id"] === queued.body["change_set_id"]);
    commit = complete.body["commit"] as string;
    composeId = complete.body["compose_id"] as string;
    const started = Date.now();
    const summary = await waitFor((m) => m.topic.endsWith("resultsdb.result.new") && resultName(m) === PACKAGE_SUMMARY && (m.body["data"] as { item: string[] }).item[0] === commit && !["QUEUED", "RUNNING"].includes(m.body["outcome"] as string), 600_000);
    await waitFor((m) => m.topic.endsWith("resultsdb.result.new") && resultName(m) === HOST_SUMMARY && (m.body["data"] as { item: string[] }).item[0] === commit && !["QUEUED", "RUNNING"].includes(m.body["outcome"] as string), 600_000);
    const tookMs = Date.now() - started;
    const covered = (summary.body["data"] as { summary_of: string[] }).summary_of;
    const packages = new Set(covered.map((t) => t.split(".")[1]));
    const finals = seen.filter((m) => isFinal(m) && (m.body["artifact"] as { id: string }).id === composeId);
    const outcomes: Record<string, number> = {};
    for (const m of finals) {
      const o = m.topic.endsWith(".error") ? "error" : (m.body["test"] as { result: string }).result;
      outcomes[o] = (outcomes[o] ?? 0) + 1;
    }
    // What the report quotes: the fixture world's whole-host set on one commit.
    console.info(`whole-host set: ${covered.length} package test(s) of ${packages.size} package(s), ${finals.length} test(s) in all, ${JSON.stringify(outcomes)}, ${(tookMs / 1000).toFixed(1)} s from compose complete to both summaries final; package-tests ${String(summary.body["outcome"])}: ${String(summary.body["note"]).slice(0, 400)}`);
    expect(covered).toContain("atomic-ci.ostree.tests.functional");
    // More than the changed package: the unchanged host packages with tests (bash among them).
    expect(packages.size).toBeGreaterThan(3);
    bashTest = covered.find((t) => t.startsWith("atomic-ci.bash.")) ?? "";
    expect(bashTest).toMatch(/^atomic-ci\.bash\.[^.]+\.functional$/);
    // Every test passes on the stable tree plus ostree 2024.9: the compose gate is satisfied.
    expect(summary.body["outcome"]).toBe("PASSED");
    const [bash] = (await (await fetch(`${api}/api/v2.0/results/latest?item=${commit}&testcases=atomic-ci.bash.*`)).json() as { data: ResultsdbResult[] }).data;
    expect(bash?.data).toMatchObject({ component: ["bash"], nvr: [expect.stringMatching(/^bash-/)] });
  }, 700_000);

  it("re-runs a test by its run.trigger_rebuild URL: a new result, the old one kept, the summary published again", async () => {
    const before = seen.length;
    const first = seen.find((m) => isFinal(m) && testcase(m) === "atomic-ci.host.host-smoke.functional" && (m.body["artifact"] as { id: string }).id === composeId);
    const trigger = (first?.body["run"] as { trigger_rebuild: string }).trigger_rebuild;
    expect(trigger).toBe(`http://localhost:8082/api/v2.0/reruns?compose=${composeId}&testcase=atomic-ci.host.host-smoke.functional`);
    const local = trigger.replace("http://localhost:8082", api);
    expect(await (await fetch(local)).json()).toMatchObject({ compose_id: composeId, commit, testcase: "atomic-ci.host.host-smoke.functional", latest: { outcome: "PASSED" } });
    const res = await fetch(local, { method: "POST" });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { result: ResultsdbResult };
    expect(accepted.result).toMatchObject({ outcome: "QUEUED", data: { item: [commit], rerun: ["true"], rerun_requested_by: ["api"] } });
    const again = await waitFor((m) => isFinal(m) && testcase(m) === "atomic-ci.host.host-smoke.functional", 120_000, before);
    expect(again.body["test"]).toMatchObject({ result: "passed" });
    await waitFor((m) => m.topic.endsWith("resultsdb.result.new") && resultName(m) === HOST_SUMMARY && m.body["outcome"] === "PASSED", 60_000, before);
    const history = (await (await fetch(`${api}/api/v2.0/results?item=${commit}&testcases=atomic-ci.host.host-smoke.functional&outcome=PASSED`)).json()) as { data: ResultsdbResult[] };
    expect(history.data.map((r) => r.data["rerun"]?.[0] ?? "first")).toEqual(["true", "first"]);
    // Unknown tests and composes are 404s; malformed requests 400s.
    expect((await fetch(`${api}/api/v2.0/reruns`, { method: "POST", body: JSON.stringify({ compose: commit, testcase: "atomic-ci.nope.x.functional" }) })).status).toBe(404);
    expect((await fetch(`${api}/api/v2.0/reruns`, { method: "POST", body: JSON.stringify({ compose: "0".repeat(64), testcase: "atomic-ci.host.host-smoke.functional" }) })).status).toBe(404);
    expect((await fetch(`${api}/api/v2.0/reruns`, { method: "POST", body: "{}" })).status).toBe(400);
  }, 200_000);

  it("re-runs by the CLI (through the API) and by a bus message, which the trigger-listener leaves alone", async () => {
    const before = seen.length;
    const cli = await runCli(["request", "rerun-test", "--compose", commit, "--test", "atomic-ci.ostree.tests.functional", "--reason", "infra flake", "--by", "alice", "--api", api]);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`^queued atomic-ci.ostree.tests.functional again on ${commit}`));
    await waitFor((m) => isFinal(m) && testcase(m) === "atomic-ci.ostree.tests.functional", 120_000, before);

    const mark = seen.length;
    const body = { action: "rerun-test", compose: composeId, testcase: bashTest, version: PIPELINE_SPEC_VERSION, generated_at: new Date().toISOString(), requested_by: "bob", reason: "runner rebooted" };
    await listener.bus.publish(OPERATOR_REQUEST_TOPIC, body);
    const done = await waitFor((m) => isFinal(m) && testcase(m) === bashTest, 120_000, mark);
    expect(done.topic).toMatch(/test\.complete$/);
    const [latest] = ((await (await fetch(`${api}/api/v2.0/results/latest?item=${commit}&testcases=${bashTest}`)).json()) as { data: ResultsdbResult[] }).data;
    expect(latest?.data).toMatchObject({ rerun_requested_by: ["bob"], rerun_reason: ["runner rebooted"] });
    const ignored = await waitFor((m) => m.topic.endsWith("pipeline.change-set.ignored") && JSON.stringify(m.body).includes("rerun-test"), 30_000, mark);
    expect(ignored.body).toMatchObject({ reason_code: "not-a-candidate", reason: "operator rerun-test requests are for the test-runner" });
    expect(seen.slice(mark).some((m) => m.topic.endsWith("pipeline.change-set.queued"))).toBe(false);
  }, 300_000);

  it("keeps results and plans across a restart of the test-runner (Redis): served again, and a test re-runs after it", async () => {
    const before = ((await (await fetch(`${api}/api/v2.0/results?item=${commit}&limit=1000`)).json()) as { data: ResultsdbResult[] }).data;
    await runnerGroup.shutdown("restart");
    await startRunner();
    const after = ((await (await fetch(`${api}/api/v2.0/results?item=${commit}&limit=1000`)).json()) as { data: ResultsdbResult[] }).data;
    expect(after).toEqual(before);
    const mark = seen.length;
    const res = await fetch(`${api}/api/v2.0/reruns`, { method: "POST", body: JSON.stringify({ compose: commit, testcase: "atomic-ci.host.host-smoke.functional", requested_by: "carol" }) });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { result: ResultsdbResult };
    // Ids go on from where the first process stopped.
    expect(accepted.result.id).toBeGreaterThan(Math.max(...before.map((r) => r.id)));
    await waitFor((m) => isFinal(m) && testcase(m) === "atomic-ci.host.host-smoke.functional", 120_000, mark);
  }, 200_000);
});

describe("atomic-ci request rerun-test on RabbitMQ", () => {
  it("publishes a schema-valid operator request with action rerun-test; needs --compose and --test", async () => {
    const env = { AMQP_URL: testServices().amqpUrl };
    const topicPrefix = `org.${uniqueName("clirerun")}`;
    const tail = startCli(["messages", "tail", "--bind", `${topicPrefix}.pipeline.operator.request`, "--count", "1"], env);
    let out = "";
    let err = "";
    tail.stdout?.on("data", (c: Buffer) => (out += c.toString("utf8")));
    tail.stderr?.on("data", (c: Buffer) => (err += c.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => tail.once("exit", resolve));
    for (const end = Date.now() + 30_000; err === "" && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
    const sent = await runCli(["request", "rerun-test", "--compose", "a".repeat(64), "--test", "atomic-ci.podman.tests.functional", "--reason", "infra flake", "--by", "alice", "--prefix", topicPrefix], env);
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    expect(await exited).toBe(0);
    expect(JSON.parse(out.trim())).toMatchObject({
      schema: "atomic_ci.pipeline.OperatorRequestV1",
      body: { action: "rerun-test", compose: "a".repeat(64), testcase: "atomic-ci.podman.tests.functional", requested_by: "alice", reason: "infra flake" },
    });
    expect((await runCli(["request", "rerun-test", "--compose", "a".repeat(64)], env)).code).toBe(2);
    const bad = await runCli(["request", "rerun-test", "--compose", "a".repeat(64), "--test", "not a test case", "--prefix", topicPrefix], env);
    expect(bad.code).not.toBe(0);
  }, 90_000);
});
