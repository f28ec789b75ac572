// Tests run on the composed tree as committed: the fixture world composed into an ostree
// repository (stable, and stable + podman-5.3.0), checked out and sandboxed with bubblewrap.
import { existsSync } from "node:fs";
import { mkdir, readFile, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureWorld, findBuild, type FixtureWorld } from "../fixture-world/src/index.js";
import type { Composed } from "@atomic-ci/compose";
import { discoverHostTests, discoverPackageTests, runTest, TreeCache, type RunTestOptions, type TestCase } from "@atomic-ci/testing";
import { cleanup, composeWorld, ctx, distGit, scratch, TMT_PLAN } from "./support.js";

let world: FixtureWorld;
let base: string;
let trees: TreeCache;
let stable: Composed;
let withPodman: Composed;
let probes: string;
let probeTests: Map<string, TestCase>;

const PROBES = `duration: 1m
/write-usr:
  test: touch /usr/bin/evil && echo wrote-usr
/write-etc:
  test: echo x >> /etc/passwd
/remount:
  test: mount -o remount,rw /usr && touch /usr/evil
/network:
  test: cat /proc/net/dev
/hang:
  test: echo started; sleep 60
  duration: 2s
/flaky:
  test: echo "attempt $ATOMIC_CI_ATTEMPT"; [ "$ATOMIC_CI_ATTEMPT" -ge 2 ]
  extra-atomic-ci-reruns: 2
/always-fails:
  test: echo "FAIL probe/always" > "$TEST_ARTIFACTS/test.log"; exit 0
  extra-atomic-ci-reruns: 1
/chatty:
  test: yes 0123456789
/env:
  test: echo "subjects=$TEST_SUBJECTS artifacts=$TEST_ARTIFACTS pwd=$(pwd) id=$(id -u)"; echo "PASS probe/env" > "$TEST_ARTIFACTS/test.log"
`;

beforeAll(async () => {
  world = await buildFixtureWorld();
  base = await scratch("testing");
  const repo = join(base, "repo");
  stable = await composeWorld(world, repo, join(base, "work"));
  withPodman = await composeWorld(world, repo, join(base, "work"), ["podman-5.3.0-1.fc41"]);
  trees = new TreeCache(repo, join(base, "trees"), ctx);
  probes = join(base, "probes");
  const [commit = ""] = await distGit(probes, [{ ...TMT_PLAN, "tests/main.fmf": PROBES }]);
  const found = await discoverPackageTests({ repo: probes, rev: commit, package: "probes" }, ctx);
  probeTests = new Map(found.tests.map((t) => [t.name.replace("/tests/", ""), t]));
});
afterAll(cleanup);

function options(gitDir: string, subject = stable.commit, extra: Partial<RunTestOptions> = {}): RunTestOptions {
  return { trees, subject, gitDir, workDir: join(base, "runs"), errorRetries: 0, ...extra };
}

async function packageTest(nvr: string): Promise<{ test: TestCase; gitDir: string }> {
  const build = findBuild(world, nvr);
  const { tests } = await discoverPackageTests({ repo: build.distGit.path, rev: build.distGit.commit, package: build.name }, ctx);
  const [test] = tests;
  if (!test) throw new Error(`${nvr} has no tests`);
  return { test, gitDir: build.distGit.path };
}

function probe(name: string): TestCase {
  const test = probeTests.get(name);
  if (!test) throw new Error(`no probe ${name}`);
  return test;
}

describe("package tests on the composed tree", () => {
  it("passes bash's STI test, with its checks and output kept as artifacts", async () => {
    const { test, gitDir } = await packageTest("bash-5.2.32-1.fc41");
    const run = await runTest(test, options(gitDir), ctx);
    expect(run).toMatchObject({ outcome: "passed", passedOnRerun: false });
    expect(run.attempts).toHaveLength(1);
    expect(run.attempts[0]?.checks).toEqual([{ result: "PASS", name: "bash/arithmetic" }, { result: "PASS", name: "bash/bin-sh" }]);
    expect(await readFile(run.logPath, "utf8")).toContain("PASS bash/bin-sh");
  });

  it("passes podman 5.2.5's tmt test on the stable compose and fails 5.3.0's on the compose that has it", async () => {
    const good = await packageTest("podman-5.2.5-1.fc41");
    expect((await runTest(good.test, options(good.gitDir), ctx)).outcome).toBe("passed");
    const bad = await packageTest("podman-5.3.0-1.fc41");
    const run = await runTest(bad.test, options(bad.gitDir, withPodman.commit), ctx);
    expect(run).toMatchObject({ outcome: "failed", reason: "FAIL podman/run-container" });
    expect(run.attempts[0]?.exitCode).toBe(1);
  });

  it("copies the test from git at the test's commit: libfoo 2.0's test fails on the stable tree, 1.0's passes", async () => {
    const old = await packageTest("libfoo-1.0-1.fc41");
    const next = await packageTest("libfoo-2.0-1.fc41");
    expect((await runTest(old.test, options(old.gitDir), ctx)).outcome).toBe("passed");
    expect(await runTest(next.test, options(next.gitDir), ctx)).toMatchObject({ outcome: "failed", reason: "FAIL libfoo/version" });
  });

  it("passes filesystem's test: the tree's empty top-level directories (/sysroot) are there, as on a booted host", async () => {
    const { test, gitDir } = await packageTest("filesystem-3.18-1.fc41");
    const run = await runTest(test, options(gitDir), ctx);
    expect({ outcome: run.outcome, reason: run.reason }).toEqual({ outcome: "passed", reason: undefined });
    expect(run.attempts[0]?.checks.map((c) => c.name)).toContain("filesystem/sysroot");
  });

  it("runs the host definition's smoke test", async () => {
    const def = world.hostDefinition;
    const { tests } = await discoverHostTests({ repo: def.path, rev: def.commit, name: def.name }, ctx);
    const smoke = tests.find((t) => t.name === "host-smoke");
    if (!smoke) throw new Error("no host-smoke");
    const run = await runTest(smoke, options(def.path), ctx);
    expect({ outcome: run.outcome, reason: run.reason }).toEqual({ outcome: "passed", reason: undefined });
  });
});

describe("the sandbox", () => {
  it("sets TEST_SUBJECTS to the commit, TEST_ARTIFACTS, the test dir as cwd, uid 0 without capabilities", async () => {
    const run = await runTest(probe("env"), options(probes), ctx);
    expect(run.outcome).toBe("passed");
    expect((await readFile(run.logPath, "utf8")).trim()).toBe(`subjects=${stable.commit} artifacts=/artifacts pwd=/var/tmp/test id=0`);
    expect(run.attempts[0]?.checks).toEqual([{ result: "PASS", name: "probe/env" }]);
  });

  it("keeps /usr and /etc read-only, even against a remount, and the tree unchanged", async () => {
    for (const name of ["write-usr", "write-etc", "remount"]) {
      const run = await runTest(probe(name), options(probes), ctx);
      expect({ name, outcome: run.outcome }).toEqual({ name, outcome: "failed" });
    }
    const { tree } = await trees.checkout(stable.commit);
    expect(existsSync(join(tree, "usr/bin/evil"))).toBe(false);
    expect(await readFile(join(tree, "usr/etc/passwd"), "utf8")).not.toMatch(/^x$/m);
    const usrLog = await readFile((await runTest(probe("write-usr"), options(probes), ctx)).logPath, "utf8");
    expect(usrLog).toMatch(/Read-only file system/);
  });

  it("has no network: only the loopback interface", async () => {
    const run = await runTest(probe("network"), options(probes), ctx);
    const interfaces = (await readFile(run.logPath, "utf8")).split("\n").filter((l) => l.includes(":")).map((l) => l.split(":")[0]?.trim());
    expect(interfaces).toEqual(["lo"]);
    expect((await readFile("/proc/net/dev", "utf8")).split("\n").filter((l) => l.includes(":")).length).toBeGreaterThan(0);
  });

  it("stops a test at its duration and counts it as failed (timeout)", async () => {
    const started = Date.now();
    const run = await runTest(probe("hang"), options(probes), ctx);
    expect(run.outcome).toBe("failed");
    expect(run.reason).toMatch(/^timeout: /);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await readFile(run.logPath, "utf8")).toContain("started");
  });

  it("caps the output log and stops a test that floods it", async () => {
    const run = await runTest(probe("chatty"), options(probes, stable.commit, { maxOutputBytes: 100_000 }), ctx);
    expect(run).toMatchObject({ outcome: "failed", reason: "output-limit: wrote more than 100000 bytes" });
    const size = (await stat(run.logPath)).size;
    expect(size).toBeGreaterThanOrEqual(100_000);
    expect(size).toBeLessThan(100_200);
  });
});

describe("errors, retries and re-runs", () => {
  it("makes a nonexistent commit an error (not failed), retried the configured number of times", async () => {
    const run = await runTest(probe("env"), options(probes, "0".repeat(64), { errorRetries: 2 }), ctx);
    expect(run.outcome).toBe("error");
    expect(run.attempts.map((a) => a.outcome)).toEqual(["error", "error", "error"]);
    expect(run.reason).toMatch(/ostree/);
  });

  it("makes a missing bwrap an error", async () => {
    const bin = join(base, "bin-without-bwrap");
    await mkdir(bin, { recursive: true });
    for (const tool of ["ostree", "git", "tar"]) if (!existsSync(join(bin, tool))) await symlink(`/usr/bin/${tool}`, join(bin, tool));
    const run = await runTest(probe("env"), options(probes), { env: { ...ctx.env, PATH: bin } });
    expect(run).toMatchObject({ outcome: "error" });
    expect(run.reason).toMatch(/^sandbox: bwrap could not be started/);
  });

  it("records a flaky test that passes on a re-run as passed-on-rerun, keeping every attempt", async () => {
    const run = await runTest(probe("flaky"), options(probes), ctx);
    expect(run).toMatchObject({ outcome: "passed", passedOnRerun: true });
    expect(run.attempts.map((a) => a.outcome)).toEqual(["failed", "passed"]);
    expect(await readFile(run.attempts[0]?.logPath ?? "", "utf8")).toContain("attempt 1");
    expect(run.logPath).toBe(run.attempts[1]?.logPath);
  });

  it("uses at most the allowed re-runs, and reads FAIL from test.log even when the exit code is 0", async () => {
    const run = await runTest(probe("always-fails"), options(probes), ctx);
    expect(run).toMatchObject({ outcome: "failed", reason: "FAIL probe/always", passedOnRerun: false });
    expect(run.attempts).toHaveLength(2);
  });
});
