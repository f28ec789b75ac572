// trigger-listener + composer + image-builder + test-runner on the in-memory bus, against the
// fixture world: a Koji build becomes a compose, the compose a qcow2, and the test-runner boots
// the qcow2 under QEMU and runs the image-scoped tests inside it — boot-sanity, ostree's tmt test
// and the host definition's host-smoke (both tagged `image`) — reported as Fedora CI messages and
// ResultsDB results on the commit, summed up in atomic-ci.compose.image-tests.functional.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageBuilderService } from "@atomic-ci/image-builder";
import { defaultRegistry, testCaseName, validateBody, type ResultsdbResult } from "@atomic-ci/messages";
import type { ServiceHandle } from "@atomic-ci/runtime";
import { createTestRunnerService, type TestRunnerService } from "@atomic-ci/test-runner";
import { startPipelineRun, type PipelineRun, type Seen, type Watcher } from "./pipeline-support.js";
import { findBuild, IMAGE_TEST_CASES, kojiBuildComplete, type FixtureWorld } from "../fixture-world/src/index.js";

const run = promisify(execFile);
const ARTIFACTS = "https://artifacts.example.invalid/runs/";
const SUMMARY = "atomic-ci.compose.image-tests.functional";
// The machine is shared and QEMU runs under TCG: every wait is generous.
const LONG = 600_000;

let pipeline: PipelineRun;
let world: FixtureWorld;
let dir: string;
let listener: ServiceHandle;
let testRunner: TestRunnerService;
let api: string;
let seen: Seen[];
let watcher: Watcher;

const waitFor = (match: (m: Seen) => boolean, timeoutMs = LONG): Promise<Seen> => watcher.waitFor(match, timeoutMs);
const testcase = (m: Seen) => testCaseName(m.body as { test: { namespace: string; type: string; category: string } });
const isCi = (m: Seen, state: string, composeId: unknown) => m.topic.endsWith(`ci.productmd-compose.test.${state}`) && (m.body["artifact"] as { id?: unknown } | undefined)?.id === composeId;
const resultOf = (m: Seen) => ({ name: (m.body["testcase"] as { name: string }).name, outcome: String(m.body["outcome"]), item: (m.body["data"] as { item: string[] }).item[0] });
const finalSummary = (commit: string) => (m: Seen) => m.topic.endsWith("resultsdb.result.new") && resultOf(m).name === SUMMARY && resultOf(m).item === commit && !["QUEUED", "RUNNING"].includes(resultOf(m).outcome);
const localPath = (url: string) => join(dir, "test-work", "runs", decodeURIComponent(url.replace(ARTIFACTS, "")));

beforeAll(async () => {
  testRunner = createTestRunnerService({ env: process.env });
  pipeline = await startPipelineRun({
    name: "pipeline-image-tests",
    services: [createImageBuilderService({ env: process.env }), testRunner],
    watch: ["#.pipeline.#", "#.ci.productmd-compose.test.#", "#.resultsdb.result.new"],
    watchTimeoutMs: LONG,
    overrides: {
      "image-builder": { imageBuilder: { formats: ["qcow2"] } },
      // No retry of a boot that errs: the broken image costs one boot (retries: images.test.ts).
      "test-runner": { testRunner: { artifactsUrl: ARTIFACTS, errorRetries: 0 } },
    },
  });
  ({ world, dir, listener, seen, watcher } = pipeline);
  api = `http://127.0.0.1:${testRunner.apiPort()}`;
}, 180_000);

afterAll(() => pipeline.stop());

describe("tests in the booted image", () => {
  let image: Seen;

  it("boots ostree 2024.9's qcow2 once and reports boot-sanity and the tests tagged image as passed", async () => {
    const koji = kojiBuildComplete(findBuild(world, "ostree-2024.9-1.fc41"));
    await listener.bus.publish(koji.topic, koji.body, { topicPrefix: "org.fedoraproject.prod" });
    image = await waitFor((m) => m.topic.endsWith("pipeline.image.complete"));
    const commit = image.body["commit"] as string;
    const composeId = image.body["compose_id"];
    const summary = await waitFor(finalSummary(commit));
    expect(resultOf(summary).outcome, String(summary.body["note"])).toBe("PASSED");
    expect(IMAGE_TEST_CASES).toEqual([SUMMARY]);

    const cases = ["atomic-ci.image.boot-sanity.functional", "atomic-ci.image.ostree.tests.functional", "atomic-ci.image.host.host-smoke.functional"];
    const states = (name: string) => seen.filter((m) => m.topic.includes("ci.productmd-compose.test.") && testcase(m) === name).map((m) => m.topic.replace(/^.*test\./, ""));
    for (const name of cases) expect(states(name), name).toEqual(["queued", "running", "complete"]);
    // containers is a host test without the image tag: in the tree only.
    expect(states("atomic-ci.image.host.containers.functional")).toEqual([]);
    const completes = seen.filter((m) => isCi(m, "complete", composeId) && testcase(m).startsWith("atomic-ci.image."));
    for (const m of completes) {
      expect(m.body["test"], testcase(m)).toMatchObject({ result: "passed", scenario: "x86_64.qcow2.qemu", namespace: expect.stringMatching(/^atomic-ci\.image/) as unknown });
      expect(m.body["system"]).toEqual([{ os: `fedora-atomic-host-${String(image.body["os_version"])}`, provider: "qemu", architecture: "x86_64" }]);
    }
    for (const m of seen.filter((s) => s.topic.includes("ci.productmd-compose.test.") || s.topic.endsWith("resultsdb.result.new"))) {
      const schema = defaultRegistry.forTopic(m.topic);
      expect(schema, m.topic).toBeDefined();
      if (schema) expect(validateBody(schema, m.body).ok, m.topic).toBe(true);
    }

    // The logs: each test's output and the whole console of the boot, under workDir/runs.
    const sanity = completes.find((m) => testcase(m) === cases[0])?.body as { test: { output_urls: string[] }; run: { log: string } };
    expect(await readFile(localPath(sanity.run.log), "utf8")).toContain(`ok deployment-commit`);
    const consoleLog = await readFile(localPath(sanity.test.output_urls[1] ?? ""), "utf8");
    expect(consoleLog).toContain("ATOMIC-CI-RESULT ostree.tests PASS 0");
    expect(consoleLog).toContain("Reached target multi-user.target (fixture)");
    const ostree = completes.find((m) => testcase(m) === cases[1])?.body as { run: { log: string } };
    expect(await readFile(localPath(ostree.run.log), "utf8")).toContain("PASS ostree/version");

    // Served by the results API, on subject compose = the commit.
    const res = await fetch(`${api}/api/v2.0/results/latest?item=${commit}&testcases=atomic-ci.image.*,${SUMMARY}`);
    const latest = ((await res.json()) as { data: ResultsdbResult[] }).data;
    expect(Object.fromEntries(latest.map((r) => [r.testcase.name, r.outcome]))).toEqual(Object.fromEntries([...cases, SUMMARY].map((c) => [c, "PASSED"])));
    for (const r of latest) expect(r.data).toMatchObject({ item: [commit], type: ["compose"], scenario: ["x86_64.qcow2.qemu"] });
    expect(latest.find((r) => r.testcase.name === SUMMARY)?.data["summary_of"]).toEqual(cases);
  }, LONG);

  it("reports every test of a boot that drops to the initramfs shell as an ERROR with the console attached", async () => {
    // The same qcow2 with its boot entry pointing at a root filesystem that does not exist.
    const qcow2 = (image.body["images"] as Record<string, { path: string }>)["qcow2"]?.path ?? "";
    const raw = join(dir, "broken.raw");
    await run("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", qcow2, raw]);
    const table = JSON.parse((await run("sfdisk", ["--json", raw])).stdout) as { partitiontable: { partitions: { start: number; name?: string }[] } };
    const boot = `${raw}?offset=${(table.partitiontable.partitions.find((p) => p.name === "boot")?.start ?? 0) * 512}`;
    const entryPath = "/loader.1/entries/ostree-1-fedora-atomic.conf";
    const entry = (await run("debugfs", ["-R", `cat ${entryPath}`, boot])).stdout;
    const broken = join(dir, "entry.conf");
    await writeFile(broken, entry.replace("root=LABEL=root", "root=LABEL=no-such-root"));
    await run("debugfs", ["-w", "-R", `rm ${entryPath}`, boot]);
    await run("debugfs", ["-w", "-R", `write ${broken} ${entryPath}`, boot]);
    const brokenQcow2 = join(dir, "broken.qcow2");
    await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, brokenQcow2]);

    const commit = "b".repeat(64);
    const body = { ...image.body, change_set_id: "cs-00000000b0000000", compose_id: "ci-broken-image", commit, images: { qcow2: { ...(image.body["images"] as Record<string, object>)["qcow2"], path: brokenQcow2 } } };
    await listener.bus.publish("pipeline.image.complete", body, { headers: { atomic_ci_change_set: "cs-00000000b0000000" } });
    const summary = await waitFor(finalSummary(commit));
    expect(resultOf(summary).outcome).toBe("ERROR");
    // The compose of this commit was never seen: boot-sanity and the host's image tests.
    const errors = seen.filter((m) => isCi(m, "error", "ci-broken-image"));
    expect(errors.map(testcase)).toEqual(["atomic-ci.image.boot-sanity.functional", "atomic-ci.image.host.host-smoke.functional"]);
    const first = errors[0]?.body as { error: { reason: string }; run: { log: string }; test: { scenario: string } };
    expect(first.error.reason).toMatch(/^initramfs-emergency: /);
    expect(first.test.scenario).toBe("x86_64.qcow2.qemu");
    expect(first.run.log).toMatch(/\/ci-broken-image\/image\/boot-1-[^/]+\/console\.log$/);
    expect(await readFile(localPath(first.run.log), "utf8")).toContain("initramfs: dropping to a shell");
    const res = await fetch(`${api}/api/v2.0/results/latest?item=${commit}`);
    const latest = ((await res.json()) as { data: ResultsdbResult[] }).data;
    expect(latest.map((r) => [r.testcase.name, r.outcome]).sort()).toEqual([
      ["atomic-ci.compose.image-tests.functional", "ERROR"],
      ["atomic-ci.image.boot-sanity.functional", "ERROR"],
      ["atomic-ci.image.host.host-smoke.functional", "ERROR"],
    ]);
    expect(latest.find((r) => r.testcase.name === "atomic-ci.image.boot-sanity.functional")?.ref_url).toBe(first.run.log);
  }, LONG);
});
