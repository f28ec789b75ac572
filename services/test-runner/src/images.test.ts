// The ImageTester with the boot replaced (the real boot is exercised by test/images and
// test/integration/pipeline-image-tests.test.ts): which tests go into the image, what is
// published for each boot outcome, retries, and idempotence on redelivery.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcomes, type HandlerContext } from "@atomic-ci/bus";
import type { BootOutcome, BootTestOptions } from "@atomic-ci/images";
import { ComposeComplete, defaultRegistry, ImageComplete, testCaseName, validateBody, type ResultsdbResult } from "@atomic-ci/messages";
import { MemoryPlanStore, MemoryResultsStore, type TestCase } from "@atomic-ci/testing";
import { gitAdd, gitCommit, gitInit, runTool, type ToolContext } from "@atomic-ci/tools";
import { testRunnerConfigSchema } from "./config.js";
import { guestScript, ImageTester, imageSummaryTestcase, isImageTest } from "./images.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } };
const author = { name: "T", email: "t@example.invalid", date: new Date("2024-01-01T00:00:00Z") };
const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as HandlerContext["log"];
const context = { log, deliveryCount: 1, setChangeSet: () => undefined } as unknown as HandlerContext;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "test-runner-images-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function repo(path: string, files: Record<string, string>): Promise<string> {
  await gitInit(path, { ...tools, branch: "f41" });
  for (const [file, content] of Object.entries(files)) {
    await mkdir(dirname(join(path, file)), { recursive: true });
    await writeFile(join(path, file), content);
  }
  await gitAdd(path, tools);
  return gitCommit(path, { ...tools, author, message: "v\n" });
}

const sti = (tags: string[], name: string) => `- hosts: localhost\n  tags: [${tags.join(", ")}]\n  roles:\n    - role: standard-test-basic\n      tests:\n        - ${name}:\n            dir: .\n            run: ./${name}.sh\n`;

function bodies(commit: string) {
  const common = { change_set_id: "cs-0123456789abcdef", compose_id: `ci-${commit.slice(0, 8)}`, version: "1.0.0", generated_at: "2025-01-01T00:00:00Z", ref: "fedora/41/x86_64/atomic-host", commit };
  const compose = ComposeComplete.parse({
    ...common,
    parent: null,
    os_version: "41.20250101.dev.1",
    input_hash: "d".repeat(64),
    repo: { location: join(dir, "ostree") },
    lockfile: { location: join(dir, "x.lock.json"), sha256: "e".repeat(64) },
    pkgdiff: { added: [], removed: [], upgraded: [{ from: "foo-1.0-1.fc41.x86_64", to: "foo-2.0-1.fc41.x86_64" }], downgraded: [] },
    reused: false,
    timestamp: "2025-01-01T00:00:00Z",
  });
  const image = ImageComplete.parse({
    ...common,
    os_version: "41.20250101.dev.1",
    images: { qcow2: { path: join(dir, "img.qcow2"), sha256: "a".repeat(64), size: 1 } },
    meta: { location: join(dir, "meta.json") },
    reused: [],
  });
  return { compose, image };
}

interface Published {
  topic: string;
  body: Record<string, unknown>;
}

describe("ImageTester (boot replaced)", () => {
  const published: Published[] = [];
  const boots: BootTestOptions[] = [];
  let outcome: (opts: BootTestOptions) => BootOutcome;
  let tester: ImageTester;
  let store: MemoryResultsStore;
  const documents = new MemoryPlanStore();
  let makeTester: (documents?: MemoryPlanStore) => ImageTester;

  beforeAll(async () => {
    const distGit = join(dir, "rpms");
    await repo(join(distGit, "foo"), {
      "foo.spec": "Name: foo\nVersion: 2.0\nRelease: 1%{?dist}\n",
      "tests/tests.yml": sti(["atomic", "image"], "smoke") + sti(["atomic"], "tree-only"),
      "tests/smoke.sh": "echo PASS foo/smoke\n",
      "tests/tree-only.sh": "true\n",
    });
    // bar did not change, but it is in the host (the compose's lockfile): its image test runs too.
    await repo(join(distGit, "bar"), {
      "bar.spec": "Name: bar\nVersion: 1.0\nRelease: 1%{?dist}\n",
      "tests/tests.yml": sti(["atomic", "image"], "smoke"),
      "tests/smoke.sh": "true\n",
    });
    await writeFile(join(dir, "x.lock.json"), JSON.stringify({ packages: { "foo": { evra: "2.0-1.fc41.x86_64" }, "bar": { evra: "1.0-1.fc41.noarch" }, "not-in-dist-git": { evra: "1-1.fc41.noarch" } } }));
    const definition = join(dir, "definition");
    await repo(definition, { "tests/tests.yml": sti(["atomic", "image"], "host-smoke") + sti(["atomic"], "containers"), "tests/host-smoke.sh": "true\n", "tests/containers.sh": "true\n" });
    store = new MemoryResultsStore();
    const settings = testRunnerConfigSchema.shape.testRunner.parse({ workDir: join(dir, "work"), distGit: { dir: distGit }, definition: { repo: definition }, artifactsUrl: "https://artifacts.example.invalid/runs/" });
    makeTester = (docs) => new ImageTester({
      bus: { publish: (topic: string, body: unknown) => { published.push({ topic, body: body as Record<string, unknown> }); return Promise.resolve(); } } as never,
      settings,
      store,
      ...(docs ? { documents: docs } : {}),
      tools,
      now: () => new Date("2025-01-01T00:00:00Z"),
      bootTest: async (opts) => {
        boots.push(opts);
        // What the test disk would carry: each test's directory, from git at its commit.
        for (const t of opts.tests ?? []) if (t.dir) expect((await readdir(t.dir)).length, t.name).toBeGreaterThan(0);
        return outcome(opts);
      },
    });
    tester = makeTester(documents);
  });

  const passing = (opts: BootTestOptions): BootOutcome => ({
    status: "passed",
    results: [{ name: "boot-sanity", outcome: "PASS", log: ["ok kernel-release"], exitCode: 0 }, ...(opts.tests ?? []).map((t) => ({ name: t.name, outcome: "PASS" as const, log: [`PASS ${t.name}`], exitCode: 0 }))],
    entry: { title: "T", options: "root=LABEL=root", linux: "/vmlinuz-6", initrd: "/initramfs-6.img", kver: "6" },
    kernelRelease: "6",
    timings: { initramfs: 1, switchRoot: 2, testsStart: 3, total: 4 },
    console: "ATOMIC-CI-BOOT-OK 6\n",
    cmdline: "root=LABEL=root init=/usr/bin/sh",
  });

  const names = (from: number) => published.slice(from).map((m) => (m.topic.endsWith("resultsdb.result.new") ? `result ${(m.body["testcase"] as { name: string }).name} ${String(m.body["outcome"])}` : `${m.topic.replace(/^.*test\./, "")} ${testCaseName(m.body as never)}`));

  it("boots once with boot-sanity and the tests tagged image, and reports each like a test in the tree", async () => {
    outcome = passing;
    const { compose, image } = bodies("1".repeat(64));
    await tester.observe({ topic: "org.fedoraproject.prod.pipeline.compose.complete", body: compose } as never);
    expect(await tester.handle({ topic: "org.fedoraproject.prod.pipeline.image.complete", body: image } as never, context)).toEqual(Outcomes.ack());
    expect(boots).toHaveLength(1);
    expect(boots[0]?.tests?.map((t) => t.name)).toEqual(["foo.smoke", "bar.smoke", "host.host-smoke"]);
    expect(boots[0]).toMatchObject({ qcow2: join(dir, "img.qcow2"), commit: "1".repeat(64), timeoutMs: 300_000 });
    const cases = ["atomic-ci.image.boot-sanity.functional", "atomic-ci.image.foo.smoke.functional", "atomic-ci.image.bar.smoke.functional", "atomic-ci.image.host.host-smoke.functional"];
    const summary = "result atomic-ci.compose.image-tests.functional";
    expect(names(0)).toEqual([
      ...cases.map((c) => `queued ${c}`),
      `${summary} QUEUED`,
      ...cases.map((c) => `running ${c}`),
      `${summary} RUNNING`,
      ...cases.flatMap((c, i) => [`complete ${c}`, `result ${c} PASSED`, ...(i === cases.length - 1 ? [`${summary} PASSED`] : [])]),
    ]);
    for (const m of published) {
      const schema = defaultRegistry.forTopic(m.topic);
      expect(schema, m.topic).toBeDefined();
      if (schema) expect(validateBody(schema, m.body).ok, `${m.topic} ${JSON.stringify(validateBody(schema, m.body))}`).toBe(true);
    }
    const complete = published.find((m) => m.topic.endsWith("test.complete"))?.body as { test: { scenario: string; output_urls: string[] }; system: { provider: string }[]; run: { log: string } };
    expect(complete.test.scenario).toBe("x86_64.qcow2.qemu");
    expect(complete.system[0]?.provider).toBe("qemu");
    expect(complete.test.output_urls[1]).toMatch(/^https:\/\/artifacts\.example\.invalid\/runs\/ci-11111111\/image\/boot-1-.+\/console\.log$/);
    const logFile = join(dir, "work", "runs", decodeURIComponent(complete.run.log.replace("https://artifacts.example.invalid/runs/", "")));
    expect(await readFile(logFile, "utf8")).toBe("ok kernel-release\n");
    const final = (await store.latest({ item: ["1".repeat(64)], testcases: [imageSummaryTestcase("atomic-ci")] }))[0];
    expect(final).toMatchObject({ outcome: "PASSED", note: "4 of 4 test(s) passed", data: { type: ["compose"], scenario: ["x86_64.qcow2.qemu"], summary_of: cases } });
  });

  it("does nothing again on a redelivery: every result of the commit is final", async () => {
    const before = published.length;
    await tester.handle({ topic: "x.pipeline.image.complete", body: bodies("1".repeat(64)).image } as never, context);
    expect(boots).toHaveLength(1);
    expect(published.length).toBe(before);
  });

  it("reports a failing test as FAILED with its first FAIL line, and the summary FAILED", async () => {
    outcome = (opts) => {
      const ok = passing(opts);
      if (ok.status === "error") return ok;
      return { ...ok, status: "failed", results: ok.results.map((r) => (r.name === "foo.smoke" ? { ...r, outcome: "FAIL" as const, log: ["PASS foo/a", "FAIL foo/b"], exitCode: 1 } : r)) };
    };
    const before = published.length;
    await tester.observe({ topic: "x.pipeline.compose.complete", body: bodies("2".repeat(64)).compose } as never);
    await tester.handle({ topic: "x.pipeline.image.complete", body: bodies("2".repeat(64)).image } as never, context);
    const foo = published.slice(before).find((m) => m.topic.endsWith("test.complete") && testCaseName(m.body as never) === "atomic-ci.image.foo.smoke.functional");
    expect(foo?.body["test"]).toMatchObject({ result: "failed", output: "FAIL foo/b" });
    const [summary] = await store.latest({ item: ["2".repeat(64)], testcases: [imageSummaryTestcase("atomic-ci")] });
    expect(summary?.outcome).toBe("FAILED");
    expect(summary?.note).toContain("atomic-ci.image.foo.smoke.functional FAILED: FAIL foo/b");
  });

  it("makes every test of a boot that hung an ERROR with the console attached, after errorRetries more boots", async () => {
    outcome = () => ({ status: "error", kind: "timeout", reason: "no power-off within 300 s", results: [{ name: "boot-sanity", outcome: "PASS", log: [] }], timings: {}, console: "Kernel says hello\n" });
    const before = published.length;
    const bootsBefore = boots.length;
    await tester.observe({ topic: "x.pipeline.compose.complete", body: bodies("3".repeat(64)).compose } as never);
    await tester.handle({ topic: "x.pipeline.image.complete", body: bodies("3".repeat(64)).image } as never, context);
    expect(boots.length - bootsBefore).toBe(3);
    const errors = published.slice(before).filter((m) => m.topic.endsWith("test.error"));
    expect(errors.map((m) => testCaseName(m.body as never))).toEqual(["atomic-ci.image.boot-sanity.functional", "atomic-ci.image.foo.smoke.functional", "atomic-ci.image.bar.smoke.functional", "atomic-ci.image.host.host-smoke.functional"]);
    const first = errors[0]?.body as { error: { reason: string }; run: { log: string }; test: { output_urls: string[] } };
    expect(first.error.reason).toBe("timeout: no power-off within 300 s");
    expect(first.run.log).toMatch(/\/image\/boot-3-[^/]+\/console\.log$/);
    const consoleFile = join(dir, "work", "runs", decodeURIComponent(first.run.log.replace("https://artifacts.example.invalid/runs/", "")));
    expect(await readFile(consoleFile, "utf8")).toBe("Kernel says hello\n");
    const results = await store.latest({ item: ["3".repeat(64)], testcases: ["atomic-ci.image.*"] });
    expect(results.map((r: ResultsdbResult) => r.outcome)).toEqual(["ERROR", "ERROR", "ERROR", "ERROR"]);
    const [summary] = await store.latest({ item: ["3".repeat(64)], testcases: [imageSummaryTestcase("atomic-ci")] });
    expect(summary?.outcome).toBe("ERROR");

    // An ERROR is tried again on a redelivery; the boot that works settles it.
    outcome = passing;
    await tester.handle({ topic: "x.pipeline.image.complete", body: bodies("3".repeat(64)).image } as never, context);
    const [again] = await store.latest({ item: ["3".repeat(64)], testcases: [imageSummaryTestcase("atomic-ci")] });
    expect(again?.outcome).toBe("PASSED");
  });
  it("takes a pull request's image tests from its head, which is on no branch", async () => {
    outcome = passing;
    const barDir = join(dir, "rpms", "bar");
    const head = await repo(barDir, { "bar.spec": "Name: bar\nVersion: 1.0\nRelease: 2%{?dist}\n", "tests/tests.yml": sti(["atomic", "image"], "pr-smoke"), "tests/pr-smoke.sh": "true\n" });
    const git = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" }, timeoutMs: 30_000 };
    await runTool("git", ["-C", barDir, "update-ref", "refs/pull/7/head", head], git);
    await runTool("git", ["-C", barDir, "reset", "--quiet", "--hard", "HEAD~1"], git);
    const { compose, image } = bodies("7".repeat(64));
    const scratch = [{ kind: "pull-request" as const, package: "bar", repo: "rpms/bar", rev: head, nvr: "bar-1.0-2.fc41", rpms: ["bar-1.0-2.fc41.noarch"] }];
    await tester.observe({ topic: "x.pipeline.compose.complete", body: { ...compose, pkgdiff: { added: [], removed: [], upgraded: [{ from: "bar-1.0-1.fc41.noarch", to: "bar-1.0-2.fc41.noarch" }], downgraded: [] }, scratch_builds: scratch } } as never);
    const before = published.length;
    await tester.handle({ topic: "x.pipeline.image.complete", body: image } as never, context);
    expect(boots.at(-1)?.tests?.map((t) => t.name)).toEqual(["bar.pr-smoke", "foo.smoke", "host.host-smoke"]);
    expect(published.slice(before).filter((m) => m.topic.endsWith("test.error"))).toEqual([]);
  });

  it("still tests the compose's packages in the image after a restart: what it observed is kept in its documents", async () => {
    outcome = passing;
    const { compose, image } = bodies("5".repeat(64));
    await tester.observe({ topic: "x.pipeline.compose.complete", body: compose } as never);
    const restarted = makeTester(documents);
    await restarted.handle({ topic: "x.pipeline.image.complete", body: image } as never, context);
    expect(boots.at(-1)?.tests?.map((t) => t.name)).toEqual(["foo.smoke", "bar.smoke", "host.host-smoke"]);

    // Without the documents the restarted runner knows only the host's own image tests.
    const { compose: other, image: otherImage } = bodies("6".repeat(64));
    await makeTester().observe({ topic: "x.pipeline.compose.complete", body: other } as never);
    await makeTester().handle({ topic: "x.pipeline.image.complete", body: otherImage } as never, context);
    expect(boots.at(-1)?.tests?.map((t) => t.name)).toEqual(["host.host-smoke"]);
  });
});

describe("ImageTester when the boot itself cannot run", () => {
  it("makes every test an ERROR naming the runner's failure, after errorRetries more tries", async () => {
    const published: Published[] = [];
    let calls = 0;
    const store = new MemoryResultsStore();
    const settings = testRunnerConfigSchema.shape.testRunner.parse({ workDir: join(dir, "work-broken"), errorRetries: 1 });
    const tester = new ImageTester({
      bus: { publish: (topic: string, body: unknown) => { published.push({ topic, body: body as Record<string, unknown> }); return Promise.resolve(); } } as never,
      settings,
      store,
      tools,
      now: () => new Date("2025-01-01T00:00:00Z"),
      bootTest: () => {
        calls++;
        return Promise.reject(new Error("qemu-img: command not found"));
      },
    });
    await tester.handle({ topic: "x.pipeline.image.complete", body: bodies("4".repeat(64)).image } as never, context);
    expect(calls).toBe(2);
    const errors = published.filter((m) => m.topic.endsWith("test.error"));
    expect(errors.map((m) => [testCaseName(m.body as never), (m.body["error"] as { reason: string }).reason])).toEqual([["atomic-ci.image.boot-sanity.functional", "runner-failed: qemu-img: command not found"]]);
    const [summary] = await store.latest({ item: ["4".repeat(64)], testcases: [imageSummaryTestcase("atomic-ci")] });
    expect(summary?.outcome).toBe("ERROR");
  });
});

describe("image tests: tags and guest scripts", () => {
  const base: TestCase = { id: "p/tmt/plans/smoke/tests", package: "p", source: "tmt", name: "/tests", dir: "tests", command: ["/usr/bin/sh", "-c", "./smoke.sh 'it''s'"], requires: [], timeoutMs: 1000, allowedReruns: 0, environment: { MODE: "a b" }, commit: "0".repeat(40), file: "tests/main.fmf" };

  it("takes a test tagged image, not one without tags", () => {
    expect(isImageTest({ ...base, tags: ["atomic", "image"] })).toBe(true);
    expect(isImageTest({ ...base, tags: ["atomic"] })).toBe(false);
    expect(isImageTest(base)).toBe(false);
  });

  it("runs the test's own command with its environment, every value quoted", () => {
    const script = guestScript(base, "f".repeat(64));
    expect(script).toContain("export MODE='a b'\n");
    expect(script).toContain(`export TEST_SUBJECTS='${"f".repeat(64)}'\n`);
    expect(script).toContain(`exec '/usr/bin/sh' '-c' './smoke.sh '\\''it'\\'''\\''s'\\'''\n`);
  });
});
