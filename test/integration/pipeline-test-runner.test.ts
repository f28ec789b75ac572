// trigger-listener + composer + test-runner on the in-memory bus, against the fixture world: a
// Koji build becomes a compose, and the compose is tested in the sandbox — Fedora CI messages
// per test, ResultsDB results served over HTTP.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultRegistry, testCaseName, validateBody, type ResultsdbResult } from "@atomic-ci/messages";
import type { ServiceHandle } from "@atomic-ci/runtime";
import { createTestRunnerService, type TestRunnerService } from "@atomic-ci/test-runner";
import { startPipelineRun, type PipelineRun, type Seen, type Watcher } from "./pipeline-support.js";
import { findBuild, kojiBuildComplete, type FixtureWorld } from "../fixture-world/src/index.js";

let pipeline: PipelineRun;
let world: FixtureWorld;
let dir: string;
let listener: ServiceHandle;
let testRunner: TestRunnerService;
let api: string;
let seen: Seen[];
let watcher: Watcher;

const waitFor = (match: (m: Seen) => boolean, timeoutMs = 90_000): Promise<Seen> => watcher.waitFor(match, timeoutMs);

const testcase = (m: Seen) => testCaseName(m.body as { test: { namespace: string; type: string; category: string } });
const ofCompose = (m: Seen, composeId: unknown) => (m.body["artifact"] as { id?: unknown } | undefined)?.id === composeId;

/** Build → change set → compose; returns the compose complete message. */
async function compose(nvr: string): Promise<Seen> {
  await listener.bus.publish(kojiBuildComplete(findBuild(world, nvr)).topic, kojiBuildComplete(findBuild(world, nvr)).body, { topicPrefix: "org.fedoraproject.prod" });
  const queued = await waitFor((m) => m.topic.endsWith("pipeline.change-set.queued") && JSON.stringify(m.body["members"]).includes(nvr));
  return waitFor((m) => m.topic.endsWith("pipeline.compose.complete") && m.body["change_set_id"] === queued.body["change_set_id"], 120_000);
}

/** The final Fedora CI message (complete or error) of every test of a compose, once all are in. */
async function finals(complete: Seen): Promise<Map<string, Seen>> {
  const id = complete.body["compose_id"];
  await waitFor((m) => m.topic.endsWith("ci.productmd-compose.test.queued") && ofCompose(m, id));
  const queued = () => seen.filter((m) => m.topic.endsWith("ci.productmd-compose.test.queued") && ofCompose(m, id)).map(testcase);
  const done = () => seen.filter((m) => /ci\.productmd-compose\.test\.(complete|error)$/.test(m.topic) && ofCompose(m, id));
  await waitFor(() => queued().every((name) => done().some((m) => testcase(m) === name)), 120_000);
  return new Map(done().map((m) => [testcase(m), m]));
}

beforeAll(async () => {
  testRunner = createTestRunnerService({ env: process.env });
  pipeline = await startPipelineRun({
    name: "test-runner",
    services: [testRunner],
    watch: ["#.pipeline.#", "#.ci.productmd-compose.test.#", "#.resultsdb.result.new"],
    // Only the changed packages and the host tests here: pipeline-test-runner-reruns.test.ts covers the whole-host set.
    overrides: { "test-runner": { testRunner: { artifactsUrl: "https://artifacts.example.invalid/runs/", composeGate: { allHostPackages: false } } } },
  });
  ({ world, dir, listener, seen, watcher } = pipeline);
  api = `http://127.0.0.1:${testRunner.apiPort()}`;
}, 180_000);

afterAll(() => pipeline.stop());

describe("the test-runner on composes of candidate builds", () => {
  it("tests ostree 2024.9's compose: its tmt test and the host tests pass, results served ResultsDB-style", async () => {
    const complete = await compose("ostree-2024.9-1.fc41");
    const commit = complete.body["commit"] as string;
    const results = await finals(complete);
    const outcomes = Object.fromEntries([...results].map(([name, m]) => [name, m.topic.endsWith(".error") ? "error" : (m.body["test"] as { result: string }).result]));
    expect(outcomes).toMatchObject({ "atomic-ci.ostree.tests.functional": "passed", "atomic-ci.host.host-smoke.functional": "passed", "atomic-ci.container.toolbox.functional": "passed" });
    expect(Object.keys(outcomes).sort()).toEqual(["atomic-ci.container.toolbox.functional", "atomic-ci.host.containers.functional", "atomic-ci.host.host-smoke.functional", "atomic-ci.ostree.tests.functional"]);

    // Every state of every test went out, each body valid for its Fedora CI schema.
    const ostree = seen.filter((m) => m.topic.includes("ci.productmd-compose.test.") && testcase(m) === "atomic-ci.ostree.tests.functional").map((m) => m.topic.replace(/^.*test\./, ""));
    expect(ostree).toEqual(["queued", "running", "complete"]);
    for (const m of seen.filter((s) => s.topic.includes("ci.productmd-compose.test.") || s.topic.endsWith("resultsdb.result.new"))) {
      const schema = defaultRegistry.forTopic(m.topic);
      expect(schema, m.topic).toBeDefined();
      if (schema) expect(validateBody(schema, m.body).ok, m.topic).toBe(true);
    }
    const passed = results.get("atomic-ci.ostree.tests.functional")?.body as { artifact: unknown; test: { runtime: number; output_urls: string[] }; run: { log: string } };
    expect(passed.artifact).toEqual({ type: "productmd-compose", id: complete.body["compose_id"], compose_type: "ci" });
    expect(passed.test.runtime).toBeGreaterThan(0);
    expect(passed.run.log).toMatch(/^https:\/\/artifacts\.example\.invalid\/runs\/.+\/output\.log$/);
    // The log URL names a file the runner kept.
    const logFile = join(dir, "test-work", "runs", decodeURIComponent(passed.run.log.replace("https://artifacts.example.invalid/runs/", "")));
    expect(await readFile(logFile, "utf8")).toContain("PASS ostree/");

    const res = await fetch(`${api}/api/v2.0/results?item=${commit}&testcases=atomic-ci.ostree.*,atomic-ci.host.host-smoke.*`);
    const page = (await res.json()) as { data: ResultsdbResult[]; next: unknown; prev: unknown };
    expect(page.prev).toBeNull();
    expect(page.data.map((r) => [r.testcase.name, r.outcome])).toEqual([
      // Tests run one at a time (ostree's first), each result a new one: latest first.
      ["atomic-ci.host.host-smoke.functional", "PASSED"],
      ["atomic-ci.host.host-smoke.functional", "RUNNING"],
      ["atomic-ci.ostree.tests.functional", "PASSED"],
      ["atomic-ci.ostree.tests.functional", "RUNNING"],
      ["atomic-ci.host.host-smoke.functional", "QUEUED"],
      ["atomic-ci.ostree.tests.functional", "QUEUED"],
    ]);
    const ostreeResult = page.data[2];
    expect(ostreeResult?.data).toMatchObject({ item: [commit], type: ["compose"], nvr: ["ostree-2024.9-1.fc41"], component: ["ostree"], passed_on_rerun: ["false"] });
    // Per-test results go out final only; the gates' summaries (docs/gating.md) in every state.
    const isSummary = (m: Seen) => ["atomic-ci.compose.host-tests.functional", "atomic-ci.compose.package-tests.functional"].includes((m.body["testcase"] as { name: string }).name);
    const news = seen.filter((m) => m.topic.endsWith("resultsdb.result.new") && (m.body["data"] as { item: string[] }).item[0] === commit);
    expect(news.filter((m) => !isSummary(m)).map((m) => m.body["outcome"]).every((o) => o !== "QUEUED" && o !== "RUNNING")).toBe(true);
    expect(news.filter((m) => !isSummary(m)).map((m) => (m.body["testcase"] as { name: string }).name).sort()).toEqual(Object.keys(outcomes).sort());
    expect(news.filter(isSummary).map((m) => `${(m.body["testcase"] as { name: string }).name} ${String(m.body["outcome"])}`)).toEqual([
      "atomic-ci.compose.package-tests.functional QUEUED",
      "atomic-ci.compose.host-tests.functional QUEUED",
      "atomic-ci.compose.package-tests.functional PASSED",
      "atomic-ci.compose.host-tests.functional PASSED",
    ]);
    const buildSummary = seen.filter((m) => m.topic.endsWith("resultsdb.result.new") && (m.body["data"] as { item: string[] }).item[0] === "ostree-2024.9-1.fc41");
    expect(buildSummary.map((m) => [(m.body["testcase"] as { name: string }).name, m.body["outcome"], (m.body["data"] as { compose: string[] }).compose])).toEqual([
      ["fedora-ci.koji-build.tier0.functional", "QUEUED", [commit]],
      ["fedora-ci.koji-build.tier0.functional", "PASSED", [commit]],
    ]);
    const one = await fetch(`${api}/api/v2.0/results/${ostreeResult?.id ?? 0}`);
    expect(await one.json()).toEqual(ostreeResult);
  });

  it("reports podman 5.3.0's test as failed on the compose that has it, naming the failing check", async () => {
    const complete = await compose("podman-5.3.0-1.fc41");
    const results = await finals(complete);
    const podman = results.get("atomic-ci.podman.tests.functional");
    expect(podman?.topic).toMatch(/ci\.productmd-compose\.test\.complete$/);
    expect(podman?.body["test"]).toMatchObject({ result: "failed", output: "FAIL podman/run-container" });
    const res = await fetch(`${api}/api/v2.0/results/latest?item=${String(complete.body["commit"])}&testcases=atomic-ci.podman.*`);
    expect(((await res.json()) as { data: ResultsdbResult[] }).data.map((r) => [r.outcome, r.note])).toEqual([["FAILED", "FAIL podman/run-container"]]);
  });
});
