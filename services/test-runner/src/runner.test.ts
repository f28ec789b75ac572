import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcomes, type HandlerContext } from "@atomic-ci/bus";
import {
  ComposeComplete,
  defaultRegistry,
  ProductmdComposeTestCompleteMessage,
  ProductmdComposeTestErrorMessage,
  ProductmdComposeTestQueuedMessage,
  ResultsdbResult,
  testCaseName,
  validateBody,
} from "@atomic-ci/messages";
import { MemoryResultsStore, type TestCase, type TestRun } from "@atomic-ci/testing";
import { DirectoryDistGit, MirroredDistGit, gitAdd, gitCommit, gitInit, GitMirror, runTool, type ToolContext } from "@atomic-ci/tools";
import { testRunnerConfigSchema } from "./config.js";
import { completeBody, errorBody, queuedBody, resultOf, slug, testTypes, type CiContext, type PlannedTest } from "./messages.js";
import { buildCommit, changedBuilds, changedRevs, releaseMatches, splitNevra } from "./resolve.js";
import { TestRunner } from "./runner.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } };
const COMMIT = "c".repeat(64);
const author = { name: "T", email: "t@example.invalid", date: new Date("2024-01-01T00:00:00Z") };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "test-runner-unit-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function repo(path: string, versions: Record<string, string>[]): Promise<string[]> {
  await gitInit(path, { ...tools, branch: "f41" });
  const commits: string[] = [];
  for (const [i, files] of versions.entries()) {
    for (const [file, content] of Object.entries(files)) {
      await mkdir(dirname(join(path, file)), { recursive: true });
      await writeFile(join(path, file), content);
    }
    await gitAdd(path, tools);
    commits.push(await gitCommit(path, { ...tools, author: { ...author, date: new Date(author.date.getTime() + i * 1000) }, message: `v${i}\n` }));
  }
  return commits;
}

const spec = (version: string, release = "1%{?dist}") => `Name: foo\nVersion:        ${version}\nRelease:        ${release}\nSummary: x\n`;
const sti = (name: string) => `- hosts: localhost\n  tags: [atomic]\n  roles:\n    - role: standard-test-basic\n      tests:\n        - ${name}:\n            dir: .\n            run: ./smoke.sh\n`;

function test(id: string, name: string): TestCase {
  return { id, package: "foo", source: "sti", name, dir: ".", command: [], requires: [], timeoutMs: 1000, allowedReruns: 0, environment: {}, commit: "0".repeat(40), file: "tests/tests.yml" };
}

function composeBody(overrides: Partial<ComposeComplete> = {}): ComposeComplete {
  return ComposeComplete.parse({
    change_set_id: "cs-0123456789abcdef",
    compose_id: "ci-cs-0123456789abcdef",
    version: "1.0.0",
    generated_at: "2025-01-01T00:00:00Z",
    ref: "fedora/41/x86_64/atomic-host",
    commit: COMMIT,
    parent: null,
    os_version: "41.20250101.dev.1",
    input_hash: "d".repeat(64),
    repo: { location: join(dir, "ostree") },
    lockfile: { location: "x.lock.json", sha256: "e".repeat(64) },
    pkgdiff: { added: [], removed: [], upgraded: [{ from: "foo-1.0-1.fc41.x86_64", to: "foo-2.0-1.fc41.x86_64" }, { from: "foo-libs-1.0-1.fc41.x86_64", to: "foo-libs-2.0-1.fc41.x86_64" }], downgraded: [] },
    reused: false,
    timestamp: "2025-01-01T00:00:00Z",
    ...overrides,
  });
}

const planned: PlannedTest = { test: test("foo/sti/tests/tests.yml/simple", "simple"), gitDir: "/nowhere", component: "foo", nvr: "foo-2.0-1.fc41", namespace: "atomic-ci.foo", type: "simple" };
const ciCtx: CiContext = {
  compose: { compose_id: "ci-cs-0123456789abcdef", commit: COMMIT, os_version: "41.1", change_set_id: "cs-0123456789abcdef" },
  contact: { name: "atomic-ci test-runner", team: "Atomic Host", docs: "https://example.invalid/docs", email: "ci@example.invalid" },
  basearch: "x86_64",
  now: new Date("2025-01-01T00:00:00Z"),
};
const links = { url: "https://ci.example.invalid/runs/1", log: "https://ci.example.invalid/artifacts/1/output.log" };

describe("naming and message bodies", () => {
  it("names test cases <namespace>.<type>.functional with a distinct type per test", () => {
    expect(slug("/tests/smoke")).toBe("tests-smoke");
    const a = test("foo/sti/tests/tests.yml/simple", "simple");
    const b = test("foo/sti/tests/tests-extra.yml/simple", "simple");
    const c = test("foo/tmt/plans/all/tests/smoke", "/tests/smoke");
    expect([...testTypes([a, b, c]).values()]).toEqual(["sti-tests-tests-yml-simple", "sti-tests-tests-extra-yml-simple", "tests-smoke"]);
    expect(testCaseName(queuedBody(planned, links, ciCtx))).toBe("atomic-ci.foo.simple.functional");
  });

  it("makes Fedora CI productmd-compose bodies the schemas accept", () => {
    const run: TestRun = { testId: planned.test.id, outcome: "failed", reason: "FAIL foo/x", runtimeMs: 1234, artifactsDir: "/a", logPath: "/a/output.log", attempts: [], passedOnRerun: false };
    expect(validateBody(ProductmdComposeTestQueuedMessage, queuedBody(planned, links, ciCtx))).toMatchObject({ ok: true });
    const complete = validateBody(ProductmdComposeTestCompleteMessage, completeBody(planned, run, { ...links, outputUrls: [links.log] }, ciCtx));
    expect(complete).toMatchObject({ ok: true, value: { test: { result: "failed", runtime: 1.234, output: "FAIL foo/x" }, artifact: { type: "productmd-compose", id: "ci-cs-0123456789abcdef", compose_type: "ci" } } });
    expect(validateBody(ProductmdComposeTestErrorMessage, errorBody(planned, "bwrap missing", links, ciCtx))).toMatchObject({ ok: true, value: { error: { reason: "bwrap missing" } } });
    const result = resultOf(planned, "PASSED", ciCtx, { passedOnRerun: true });
    expect(ResultsdbResult.safeParse({ ...result, id: 1, submit_time: "2025-01-01T00:00:00Z" }).success).toBe(true);
    expect(result.data).toMatchObject({ item: [COMMIT], type: ["compose"], nvr: ["foo-2.0-1.fc41"], passed_on_rerun: ["true"] });
  });
});

describe("which builds a compose changed, and their dist-git commits", () => {
  it("splits NEVRAs and NVRs, and matches a spec's release with the dist tag", () => {
    expect(splitNevra("ostree-libs-2024.9-1.fc41.x86_64", true)).toEqual({ name: "ostree-libs", version: "2024.9", release: "1.fc41" });
    expect(splitNevra("shadow-utils-2:4.15-1.fc41", false)).toEqual({ name: "shadow-utils", version: "4.15", release: "1.fc41" });
    expect(releaseMatches("1%{?dist}", "1.fc41")).toBe(true);
    expect(releaseMatches("10%{?dist}", "1.fc41")).toBe(false);
    expect(releaseMatches("%{rel}%{?dist}", "1.fc41")).toBe(false);
  });

  it("takes the change set's build members, else the diff's packages that have a dist-git repository", async () => {
    const distGit = join(dir, "rpms-a");
    await mkdir(join(distGit, "foo"), { recursive: true });
    const diff = composeBody().pkgdiff;
    expect(await changedBuilds(diff, undefined, new DirectoryDistGit(distGit))).toEqual([{ name: "foo", version: "2.0", release: "1.fc41", nvr: "foo-2.0-1.fc41" }]);
    const members = [{ kind: "build" as const, package: "bar", nvr: "bar-3-2.fc41", source_message_id: "m", source_topic: "t" }];
    expect(await changedBuilds(diff, { members }, new DirectoryDistGit(distGit))).toEqual([{ name: "bar", version: "3", release: "2.fc41", nvr: "bar-3-2.fc41" }]);
  });

  it("finds the newest commit whose spec has the build's version and release", async () => {
    const path = join(dir, "rpms-b", "foo");
    const commits = await repo(path, [{ "foo.spec": spec("1.0") }, { "foo.spec": spec("2.0") }, { "README": "docs only\n" }, { "foo.spec": spec("2.0", "2%{?dist}") }]);
    expect(await buildCommit(path, { name: "foo", version: "1.0", release: "1.fc41" }, tools)).toBe(commits[0]);
    expect(await buildCommit(path, { name: "foo", version: "2.0", release: "1.fc41" }, tools)).toBe(commits[2]);
    expect(await buildCommit(path, { name: "foo", version: "2.0", release: "2.fc41" }, tools)).toBe(commits[3]);
    expect(await buildCommit(path, { name: "foo", version: "3.0", release: "1.fc41" }, tools)).toBeUndefined();
  });
});

describe("TestRunner on a compose (sandbox replaced)", () => {
  const published: { topic: string; body: Record<string, unknown> }[] = [];
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as HandlerContext["log"];
  const context = { log, deliveryCount: 1, setChangeSet: () => undefined } as unknown as HandlerContext;
  let runner: TestRunner;
  let store: MemoryResultsStore;
  let runs: string[];

  beforeAll(async () => {
    const distGit = join(dir, "rpms-c");
    await repo(join(distGit, "foo"), [{ "foo.spec": spec("2.0"), "tests/tests.yml": sti("simple"), "tests/smoke.sh": "true\n" }]);
    const definition = join(dir, "definition");
    await repo(definition, [{ "tests/tests.yml": sti("host-smoke") + sti("broken") }]);
    store = new MemoryResultsStore();
    runs = [];
    // Only the changed packages here; the whole-host set has its own tests below.
    const settings = testRunnerConfigSchema.shape.testRunner.parse({ workDir: join(dir, "work"), distGit: { dir: distGit }, definition: { repo: definition }, composeGate: { allHostPackages: false } });
    runner = new TestRunner({
      bus: { publish: (topic: string, body: unknown) => { published.push({ topic, body: body as Record<string, unknown> }); return Promise.resolve(); } } as never,
      settings,
      store,
      tools,
      now: () => new Date("2025-01-01T00:00:00Z"),
      runTest: (t) => {
        runs.push(t.name);
        const outcome = t.name === "broken" ? "error" : t.name === "host-smoke" ? "failed" : "passed";
        const run: TestRun = { testId: t.id, outcome, runtimeMs: 10, artifactsDir: join(dir, "work", "runs", "x", "artifacts"), logPath: join(dir, "work", "runs", "x", "artifacts", "output.log"), attempts: [], passedOnRerun: false };
        if (outcome !== "passed") run.reason = outcome === "error" ? "ostree checkout failed" : "FAIL host/x";
        return Promise.resolve(run);
      },
    });
  });

  it("publishes queued, running and complete or error per test, every body valid, and stores final results", async () => {
    const outcome = await runner.handle({ topic: "org.fedoraproject.prod.pipeline.compose.complete", body: composeBody() } as never, context);
    expect(outcome).toEqual(Outcomes.ack());
    expect(runs).toEqual(["simple", "host-smoke", "broken"]);
    for (const m of published) {
      const schema = defaultRegistry.forTopic(m.topic);
      expect(schema, m.topic).toBeDefined();
      if (schema) expect(validateBody(schema, m.body).ok, m.topic).toBe(true);
    }
    const summary = published.map((m) => `${m.topic} ${m.topic.startsWith("resultsdb") ? `${(m.body["testcase"] as { name: string }).name} ${String(m.body["outcome"])}` : testCaseName(m.body as never)}`);
    expect(summary).toEqual([
      "ci.productmd-compose.test.queued atomic-ci.foo.simple.functional",
      "ci.productmd-compose.test.queued atomic-ci.host.host-smoke.functional",
      "ci.productmd-compose.test.queued atomic-ci.host.broken.functional",
      // The gates' summaries: queued with the tests, final as soon as their last test is.
      "resultsdb.result.new fedora-ci.koji-build.tier0.functional QUEUED",
      "resultsdb.result.new atomic-ci.compose.package-tests.functional QUEUED",
      "resultsdb.result.new atomic-ci.compose.host-tests.functional QUEUED",
      "ci.productmd-compose.test.running atomic-ci.foo.simple.functional",
      "ci.productmd-compose.test.complete atomic-ci.foo.simple.functional",
      "resultsdb.result.new atomic-ci.foo.simple.functional PASSED",
      "resultsdb.result.new fedora-ci.koji-build.tier0.functional PASSED",
      "resultsdb.result.new atomic-ci.compose.package-tests.functional PASSED",
      "ci.productmd-compose.test.running atomic-ci.host.host-smoke.functional",
      "ci.productmd-compose.test.complete atomic-ci.host.host-smoke.functional",
      "resultsdb.result.new atomic-ci.host.host-smoke.functional FAILED",
      "ci.productmd-compose.test.running atomic-ci.host.broken.functional",
      "ci.productmd-compose.test.error atomic-ci.host.broken.functional",
      "resultsdb.result.new atomic-ci.host.broken.functional ERROR",
      "resultsdb.result.new atomic-ci.compose.host-tests.functional FAILED",
    ]);
    // The build's summary is on the build (what its gating.yaml requires), tested on this commit.
    const build = published.find((m) => m.topic === "resultsdb.result.new" && (m.body["testcase"] as { name: string }).name === "fedora-ci.koji-build.tier0.functional" && m.body["outcome"] === "PASSED");
    expect(build?.body["data"]).toMatchObject({ item: ["foo-2.0-1.fc41"], type: ["koji_build"], compose: [COMMIT], nvr: ["foo-2.0-1.fc41"], summary_of: ["atomic-ci.foo.simple.functional"] });
    expect((build?.body["data"] as { dist_git_commit: string[] }).dist_git_commit[0]).toMatch(/^[0-9a-f]{40}$/);
    const host = published.at(-1)?.body as { data: Record<string, string[]>; note: string };
    expect(host.data).toMatchObject({ item: [COMMIT], type: ["compose"], compose: [COMMIT] });
    expect(host.note).toBe("0 of 2 test(s) passed; atomic-ci.host.host-smoke.functional FAILED: FAIL host/x; atomic-ci.host.broken.functional ERROR: ostree checkout failed");
    const complete = published.find((m) => m.topic.endsWith("test.complete"))?.body as { run: { log: string }; test: { output_urls: string[] } };
    expect(complete.run.log).toBe("http://localhost:8081/artifacts/x/artifacts/output.log");
    expect(complete.test.output_urls).toEqual([complete.run.log]);
    const latest = await store.latest({ item: [COMMIT], testcases: ["atomic-ci.foo.*", "atomic-ci.host.*"] });
    expect(latest.map((r) => [r.testcase.name, r.outcome, r.note])).toEqual([
      ["atomic-ci.host.broken.functional", "ERROR", "ostree checkout failed"],
      ["atomic-ci.host.host-smoke.functional", "FAILED", "FAIL host/x"],
      ["atomic-ci.foo.simple.functional", "PASSED", ""],
    ]);
    expect((await store.query({ item: [COMMIT], testcases: ["atomic-ci.foo.*"] })).results.map((r) => r.outcome)).toEqual(["PASSED", "RUNNING", "QUEUED"]);
  });

  it("runs only what is not settled when the same commit comes again (an error is tried again)", async () => {
    published.length = 0;
    runs.length = 0;
    await runner.handle({ topic: "pipeline.compose.complete", body: composeBody({ change_set_id: "cs-1111111111111111", compose_id: "ci-cs-1111111111111111", reused: true }) } as never, context);
    expect(runs).toEqual(["broken"]);
    // The host summary goes back to QUEUED while its errored test runs again, then final again.
    const summaries = published.filter((m) => m.topic === "resultsdb.result.new" && (m.body["testcase"] as { name: string }).name.startsWith("atomic-ci.compose."));
    expect(summaries.map((m) => `${(m.body["testcase"] as { name: string }).name} ${String(m.body["outcome"])}`)).toEqual([
      "atomic-ci.compose.host-tests.functional QUEUED",
      "atomic-ci.compose.host-tests.functional FAILED",
    ]);
  });

  it("reports a build whose dist-git has no matching spec as an error result of the package", async () => {
    published.length = 0;
    const other = composeBody({ commit: "f".repeat(64), pkgdiff: { added: ["foo-9.9-1.fc41.x86_64"], removed: [], upgraded: [], downgraded: [] } });
    await runner.handle({ topic: "pipeline.compose.complete", body: other } as never, context);
    const error = published.find((m) => m.topic === "ci.productmd-compose.test.error" && JSON.stringify(m.body).includes("atomic-ci.foo"));
    expect((error?.body["error"] as { reason: string }).reason).toMatch(/no commit of foo's dist-git has the spec of foo-9.9-1.fc41/);
    expect((await store.latest({ item: ["f".repeat(64)], testcases: ["atomic-ci.foo.*"] })).map((r) => r.outcome)).toEqual(["ERROR"]);
  });
});

/** A runner whose every test passes, recording `<name>@<commit>`; what it publishes is kept. */
function passingRunner(work: string, settingsInput: Record<string, unknown>, extra: Partial<ConstructorParameters<typeof TestRunner>[0]> = {}) {
  const published: { topic: string; body: Record<string, unknown> }[] = [];
  const runs: string[] = [];
  const settings = testRunnerConfigSchema.shape.testRunner.parse({ workDir: join(dir, work), composeGate: { allHostPackages: false }, ...settingsInput });
  const runner = new TestRunner({
    bus: { publish: (topic: string, body: unknown) => { published.push({ topic, body: body as Record<string, unknown> }); return Promise.resolve(); } } as never,
    settings,
    store: new MemoryResultsStore(),
    tools,
    now: () => new Date("2025-01-01T00:00:00Z"),
    runTest: (t) => {
      runs.push(`${t.name}@${t.commit.slice(0, 12)}`);
      return Promise.resolve({ testId: t.id, outcome: "passed", runtimeMs: 1, artifactsDir: join(dir, work, "a"), logPath: join(dir, work, "a", "output.log"), attempts: [], passedOnRerun: false } satisfies TestRun);
    },
    ...extra,
  });
  return { runner, published, runs };
}

describe("a pull request's own tests (sandbox replaced)", () => {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as HandlerContext["log"];
  const context = { log, deliveryCount: 1, setChangeSet: () => undefined } as unknown as HandlerContext;

  it("takes a change set's commits and pull requests by package: the scratch build's commit first, then the members that needed no build", () => {
    const pr = { kind: "pull-request" as const, package: "foo", repo: "rpms/foo", branch: "f41", pr_url: "https://src.example.invalid/rpms/foo/pull-request/1", rev: "1".repeat(40), source_message_id: "m", source_topic: "t" };
    const testsOnly = { kind: "dist-git-commit" as const, package: "bar", repo: "rpms/bar", branch: "f41", rev: "2".repeat(40), touches: ["tests" as const], source_message_id: "m2", source_topic: "t" };
    const built = [{ kind: "pull-request" as const, package: "foo", repo: "rpms/foo", rev: "3".repeat(40), nvr: "foo-2.0-2.fc41", rpms: ["foo-2.0-2.fc41.x86_64"] }];
    expect(changedRevs({ members: [pr, testsOnly] }, built)).toEqual([{ name: "foo", rev: "3".repeat(40), nvr: "foo-2.0-2.fc41" }, { name: "bar", rev: "2".repeat(40) }]);
    // After a restart (change set not seen) the compose still says what it built.
    expect(changedRevs(undefined, built)).toEqual([{ name: "foo", rev: "3".repeat(40), nvr: "foo-2.0-2.fc41" }]);
  });

  it("runs the tests at the pull request's head, not the branch's, and looks for no branch commit of its version", async () => {
    const distGit = join(dir, "rpms-pr");
    const gitDir = join(distGit, "foo");
    await repo(gitDir, [{ "foo.spec": spec("2.0"), "tests/tests.yml": sti("branch-test"), "tests/smoke.sh": "true\n" }]);
    // The pull request's head: a commit on no branch (refs/pull/1/head, as Pagure keeps it).
    const [head] = await repo(gitDir, [{ "foo.spec": spec("2.0", "2%{?dist}"), "tests/tests.yml": sti("pr-test") }]);
    if (!head) throw new Error("no commit");
    const env = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" }, timeoutMs: 30_000 };
    await runTool("git", ["-C", gitDir, "update-ref", "refs/pull/1/head", head], env);
    await runTool("git", ["-C", gitDir, "reset", "--quiet", "--hard", "HEAD~1"], env);

    const { runner, published, runs } = passingRunner("work-pr", { distGit: { dir: distGit } });
    const scratch = [{ kind: "pull-request" as const, package: "foo", repo: "rpms/foo", rev: head, pr_url: "https://src.example.invalid/rpms/foo/pull-request/1", nvr: "foo-2.0-2.fc41", rpms: ["foo-2.0-2.fc41.x86_64"] }];
    await runner.handle({ topic: "pipeline.compose.complete", body: composeBody({ commit: "e".repeat(64), pkgdiff: { added: [], removed: [], upgraded: [{ from: "foo-2.0-1.fc41.x86_64", to: "foo-2.0-2.fc41.x86_64" }], downgraded: [] }, scratch_builds: scratch }) } as never, context);
    expect(runs).toEqual([`pr-test@${head.slice(0, 12)}`]);
    expect(published.filter((m) => m.topic.endsWith("test.error"))).toEqual([]);
    // Counted for the compose gate; no Koji-build summary for a build Koji never made.
    const summaries = published.filter((m) => m.topic === "resultsdb.result.new").map((m) => `${(m.body["testcase"] as { name: string }).name} ${String(m.body["outcome"])}`);
    expect(summaries).toContain("atomic-ci.compose.package-tests.functional PASSED");
    expect(summaries.some((n) => n.startsWith("fedora-ci.koji-build"))).toBe(false);
  });
});

describe("dist-git from a forge, mirrored on first use (sandbox replaced)", () => {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as HandlerContext["log"];
  const context = { log, deliveryCount: 1, setChangeSet: () => undefined } as unknown as HandlerContext;
  const diff = { added: [], removed: [], upgraded: [{ from: "foo-1.0-1.fc41.x86_64", to: "foo-2.0-1.fc41.x86_64" }], downgraded: [] };

  it("finds the changed package's repository at the forge and runs its tests from the mirror", async () => {
    const forge = join(dir, "forge");
    await repo(join(forge, "foo"), [{ "foo.spec": spec("2.0"), "tests/tests.yml": sti("forge-test"), "tests/smoke.sh": "true\n" }]);
    const distGit = new MirroredDistGit({ urlTemplate: `file://${forge}/{name}`, cacheDir: join(dir, "forge-mirrors"), maxAgeMs: 60_000, tools });
    const { runner, runs, published } = passingRunner("work-forge", {}, { distGit });
    await runner.handle({ topic: "pipeline.compose.complete", body: composeBody({ commit: "a".repeat(64), pkgdiff: diff }) } as never, context);
    expect(runs.map((r) => r.split("@")[0])).toEqual(["forge-test"]);
    expect(published.filter((m) => m.topic.endsWith("test.error"))).toEqual([]);
  });

  it("makes the package tests an ERROR when the forge cannot be reached, instead of finding no package changed", async () => {
    const distGit = new MirroredDistGit({ urlTemplate: "http://127.0.0.1:9/rpms/{name}.git", cacheDir: join(dir, "down-mirrors"), maxAgeMs: 60_000, tools: { ...tools, timeoutMs: 30_000 } });
    const { runner, runs, published } = passingRunner("work-forge-down", {}, { distGit });
    await runner.handle({ topic: "pipeline.compose.complete", body: composeBody({ commit: "b".repeat(64), pkgdiff: diff }) } as never, context);
    expect(runs).toEqual([]);
    const error = published.find((m) => m.topic === "ci.productmd-compose.test.error");
    expect((error?.body["error"] as { reason: string }).reason).toMatch(/^cannot tell which packages changed: cannot clone http:\/\/127\.0\.0\.1:9\/rpms\/foo\.git/);
    const summary = published.filter((m) => m.topic === "resultsdb.result.new" && (m.body["testcase"] as { name: string }).name === "atomic-ci.compose.package-tests.functional").at(-1);
    expect(summary?.body["outcome"]).toBe("ERROR");
  });
});

describe("a host definition from a remote repository (a mirror; sandbox replaced)", () => {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as HandlerContext["log"];
  const context = { log, deliveryCount: 1, setChangeSet: () => undefined } as unknown as HandlerContext;

  async function runWith(url: string, work: string) {
    const mirror = new GitMirror({ url, cacheDir: join(dir, work, "mirrors"), maxAgeMs: 60_000, tools });
    const { runner, published, runs } = passingRunner(work, { definition: { repo: "https://git.example.invalid/host-definition.git" } }, { definitionRepo: { path: (rev) => (rev === undefined ? mirror.path() : mirror.pathWith(rev)), mirror } });
    await runner.handle({ topic: "pipeline.compose.complete", body: composeBody({ commit: "d".repeat(64), pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] } }) } as never, context);
    return { published, runs };
  }

  it("reads the host tests from the mirror of the remote", async () => {
    const upstream = join(dir, "definition-remote");
    await repo(upstream, [{ "tests/tests.yml": sti("remote-smoke") }]);
    const { runs } = await runWith(`file://${upstream}`, "work-remote");
    expect(runs.map((r) => r.split("@")[0])).toEqual(["remote-smoke"]);
  });

  it("makes the host tests an ERROR naming the repository when the remote was never fetched: the gate fails closed", async () => {
    const { published, runs } = await runWith(`file://${join(dir, "no-such-remote")}`, "work-remote-missing");
    expect(runs).toEqual([]);
    const error = published.find((m) => m.topic === "ci.productmd-compose.test.error");
    expect((error?.body["error"] as { reason: string }).reason).toMatch(/the host definition repository cannot be read: cannot clone file:\/\//);
    const summary = published.filter((m) => m.topic === "resultsdb.result.new" && (m.body["testcase"] as { name: string }).name === "atomic-ci.compose.host-tests.functional").at(-1);
    expect(summary?.body["outcome"]).toBe("ERROR");
  });
});

describe("summaries for the gates", () => {
  it("aggregates: not final while a test is not, then failed over errored over passed", async () => {
    const { aggregateOutcome } = await import("./messages.js");
    expect(aggregateOutcome([])).toBe("PASSED");
    expect(aggregateOutcome(["PASSED", "INFO"])).toBe("PASSED");
    expect(aggregateOutcome(["PASSED", undefined])).toBe("QUEUED");
    expect(aggregateOutcome(["FAILED", "RUNNING"])).toBe("RUNNING");
    expect(aggregateOutcome(["ERROR", "PASSED"])).toBe("ERROR");
    expect(aggregateOutcome(["ERROR", "NEEDS_INSPECTION", "PASSED"])).toBe("FAILED");
  });
});

describe("re-runs on request and the whole-host set (sandbox replaced)", () => {
  const published: { topic: string; body: Record<string, unknown> }[] = [];
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as HandlerContext["log"];
  const context = { log, deliveryCount: 1, setChangeSet: () => undefined } as unknown as HandlerContext;
  const commit = "9".repeat(64);
  let runner: TestRunner;
  let store: MemoryResultsStore;
  let runs: string[];
  let lockfile: string;
  let flakyFails = true;
  const summaries = () =>
    published
      .filter((m) => m.topic === "resultsdb.result.new" && (m.body["testcase"] as { name: string }).name.startsWith("atomic-ci.compose."))
      .map((m) => `${(m.body["testcase"] as { name: string }).name} ${String(m.body["outcome"])}`);

  beforeAll(async () => {
    const distGit = join(dir, "rpms-r");
    await repo(join(distGit, "foo"), [{ "foo.spec": spec("2.0"), "tests/tests.yml": sti("simple"), "tests/smoke.sh": "true\n" }]);
    // bar is a host package the compose did not change; its subpackage bar-libs maps to it too.
    await repo(join(distGit, "bar"), [{ "foo.spec": "x", "bar.spec": spec("1.5").replace("foo", "bar"), "tests/tests.yml": sti("bar-smoke"), "tests/smoke.sh": "true\n" }]);
    const definition = join(dir, "definition-r");
    await repo(definition, [{ "tests/tests.yml": sti("infra") }]);
    lockfile = join(dir, "r.lock.json");
    await writeFile(lockfile, JSON.stringify({ packages: { foo: { evra: "2.0-1.fc41.x86_64" }, bar: { evra: "1.5-1.fc41.x86_64" }, "bar-libs": { evra: "1.5-1.fc41.x86_64" }, baz: { evra: "3-1.fc41.noarch" } } }));
    store = new MemoryResultsStore();
    runs = [];
    const settings = testRunnerConfigSchema.shape.testRunner.parse({ workDir: join(dir, "work-r"), distGit: { dir: distGit }, definition: { repo: definition }, api: { publicUrl: "https://ci.example.invalid/results/" } });
    runner = new TestRunner({
      bus: { publish: (topic: string, body: unknown) => { published.push({ topic, body: body as Record<string, unknown> }); return Promise.resolve(); } } as never,
      settings,
      store,
      tools,
      now: () => new Date("2025-01-01T00:00:00Z"),
      runTest: (t) => {
        runs.push(t.name);
        // `infra` meets an infrastructure failure until it is fixed (flakyFails = false).
        const outcome = t.name === "infra" && flakyFails ? "error" : "passed";
        const run: TestRun = { testId: t.id, outcome, runtimeMs: 10, artifactsDir: join(dir, "work-r", "runs", "x", "artifacts"), logPath: join(dir, "work-r", "runs", "x", "artifacts", "output.log"), attempts: [], passedOnRerun: false };
        if (outcome === "error") run.reason = "ostree checkout failed";
        return Promise.resolve(run);
      },
    });
  });

  it("also runs every other host package's tests for the compose gate, under the package-tests summary only", async () => {
    const body = composeBody({ commit, compose_id: "ci-cs-9999999999999999", lockfile: { location: lockfile, sha256: "e".repeat(64) } });
    await runner.handle({ topic: "pipeline.compose.complete", body } as never, context);
    expect(runs).toEqual(["simple", "bar-smoke", "infra"]);
    const packageSummary = published.filter((m) => m.topic === "resultsdb.result.new" && (m.body["testcase"] as { name: string }).name === "atomic-ci.compose.package-tests.functional").at(-1);
    expect(packageSummary?.body).toMatchObject({ outcome: "PASSED", data: { summary_of: ["atomic-ci.foo.simple.functional", "atomic-ci.bar.bar-smoke.functional"] } });
    // The build summary is the changed build's only.
    const builds = published.filter((m) => m.topic === "resultsdb.result.new" && (m.body["data"] as { type: string[] }).type[0] === "koji_build");
    expect(new Set(builds.map((m) => (m.body["data"] as { item: string[] }).item[0]))).toEqual(new Set(["foo-2.0-1.fc41"]));
    const [bar] = await store.latest({ item: [commit], testcases: ["atomic-ci.bar.*"] });
    expect(bar?.data).toMatchObject({ nvr: ["bar-1.5-1.fc41"], component: ["bar"] });
    expect(summaries().at(-1)).toBe("atomic-ci.compose.host-tests.functional ERROR");
    // Every test's Fedora CI messages carry the rebuild links of the results API.
    const queued = published.find((m) => m.topic === "ci.productmd-compose.test.queued")?.body as { run: { rebuild: string; trigger_rebuild: string } };
    expect(queued.run.trigger_rebuild).toBe("https://ci.example.invalid/results/api/v2.0/reruns?compose=ci-cs-9999999999999999&testcase=atomic-ci.foo.simple.functional");
    expect(queued.run.rebuild).toBe(queued.run.trigger_rebuild);
  });

  it("re-runs one test on request (API way): a new result, history kept, the summary re-decided", async () => {
    published.length = 0;
    runs.length = 0;
    flakyFails = false;
    const described = await runner.describeRerun(commit, "atomic-ci.host.infra.functional");
    expect(described).toMatchObject({ compose_id: "ci-cs-9999999999999999", commit, latest: { outcome: "ERROR" } });
    const accepted = await runner.requestRerun({ compose: commit, testcase: "atomic-ci.host.infra.functional", reason: "builder out of disk", requestedBy: "alice" });
    expect(accepted.result).toMatchObject({ outcome: "QUEUED", data: { rerun: ["true"], rerun_requested_by: ["alice"], rerun_reason: ["builder out of disk"] } });
    // Asking again while it waits is refused rather than run twice.
    await expect(runner.requestRerun({ compose: commit, testcase: "atomic-ci.host.infra.functional", reason: "again", requestedBy: "bob" })).rejects.toMatchObject({ code: "NOT_RERUNNABLE" });
    await runner.idle();
    expect(runs).toEqual(["infra"]);
    expect((await store.query({ item: [commit], testcases: ["atomic-ci.host.infra.functional"] })).results.map((r) => r.outcome)).toEqual(["PASSED", "RUNNING", "QUEUED", "ERROR", "RUNNING", "QUEUED"]);
    expect(summaries()).toEqual(["atomic-ci.compose.host-tests.functional QUEUED", "atomic-ci.compose.host-tests.functional PASSED"]);
    expect(published.map((m) => m.topic)).toContain("ci.productmd-compose.test.complete");
  });

  it("re-runs by bus message (operator request rerun-test), by compose id, and refuses unknown composes and tests", async () => {
    runs.length = 0;
    const request = { action: "rerun-test", compose: "ci-cs-9999999999999999", testcase: "atomic-ci.bar.bar-smoke.functional", version: "1.0.0", generated_at: "2025-01-01T00:00:00Z", requested_by: "alice", reason: "check" };
    const outcome = await runner.handle({ topic: "org.atomic-ci.dev.pipeline.operator.request", body: request } as never, context);
    expect(outcome).toEqual(Outcomes.ack());
    expect(runs).toEqual(["bar-smoke"]);
    expect((await store.latest({ item: [commit], testcases: ["atomic-ci.bar.bar-smoke.functional"] }))[0]?.data["rerun_requested_by"]).toEqual(["alice"]);
    // Other operator actions are other services' business; unknown targets are dropped (acknowledged).
    expect(await runner.handle({ topic: "pipeline.operator.request", body: { ...request, action: "compose" } } as never, context)).toEqual(Outcomes.ack());
    expect(await runner.handle({ topic: "pipeline.operator.request", body: { ...request, testcase: "atomic-ci.nope.x.functional" } } as never, context)).toEqual(Outcomes.ack());
    expect(runs).toEqual(["bar-smoke"]);
    await expect(runner.describeRerun("0".repeat(64), "atomic-ci.bar.bar-smoke.functional")).rejects.toMatchObject({ code: "UNKNOWN_COMPOSE" });
    await expect(runner.describeRerun(commit, "atomic-ci.bar.discovery.functional")).rejects.toMatchObject({ code: "UNKNOWN_TEST" });
  });

  it("takes a reused compose's whole-host set from the plan of its commit, without reading the lockfile again", async () => {
    runs.length = 0;
    published.length = 0;
    const reused = composeBody({ commit, compose_id: "ci-cs-8888888888888888", change_set_id: "cs-8888888888888888", reused: true, lockfile: { location: join(dir, "gone.lock.json"), sha256: "e".repeat(64) } });
    await runner.handle({ topic: "pipeline.compose.complete", body: reused } as never, context);
    expect(runs).toEqual([]);
    expect(published.some((m) => JSON.stringify(m.body).includes("host-packages"))).toBe(false);
    // The new compose of the commit is known for re-runs, with the whole-host tests it took over.
    expect(await runner.describeRerun("ci-cs-8888888888888888", "atomic-ci.bar.bar-smoke.functional")).toMatchObject({ commit, latest: { outcome: "PASSED" } });
  });
});
