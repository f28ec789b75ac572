// Hostile tests (issue #4 item 11): a test suite that tries to escape or swamp the sandbox.
// What sandbox.test.ts already covers is not repeated here: writes to /usr and /etc, a
// remount, the interface list, a hang, a flood of output with a small cap. Here: a fork bomb,
// writes to the host's own paths, a connection to the host's RabbitMQ on 127.0.0.1, and
// gigabytes of output under the default cap.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureWorld } from "../fixture-world/src/index.js";
import type { Composed } from "@atomic-ci/compose";
import { CGROUP_PARENT, DEFAULT_MAX_OUTPUT_BYTES, discoverPackageTests, pidsLimiter, runTest, TreeCache, type RunTestOptions, type TestCase } from "@atomic-ci/testing";
import { cleanup, composeWorld, ctx, distGit, scratch, TMT_PLAN } from "./support.js";

let base: string;
let trees: TreeCache;
let stable: Composed;
let probes: string;
let canary: string;
let tests: Map<string, TestCase>;

/**
 * A directory only the host has: the checkout the tests run from. It may sit below /tmp, which
 * the sandbox has a private one of, so a probe may create the same path inside the sandbox:
 * whether that escaped is asked of the host, and visibility is checked on a file it holds.
 */
const HOST_ONLY = process.cwd();

// Each probe prints what it managed to do; a line `ESCAPED ...` is what must never appear.
function probesFmf(hostDir: string, tree: string): string {
  return `duration: 1m
/fork-bomb:
  summary: the classic, in sh; the parent waits so that only the limits can end it
  test: 'bomb() { bomb | bomb & }; bomb; sleep 60'
  duration: 6s
/fork-count:
  summary: how many processes can it have at once (each one counts itself; the first refused fork ends the shell)
  test: 'n=0; while [ $n -lt 400 ]; do (echo x >> "$TEST_ARTIFACTS/count"; exec sleep 30) & n=$((n+1)); done'
  duration: 20s
/write-host:
  test: |
    echo evil > ${hostDir}/canary
    mkdir -p ${hostDir}/evil-dir && touch ${hostDir}/evil-dir/x && echo "made ${hostDir}/evil-dir (the sandbox's own /tmp)"
    touch ${tree}/usr/bin/evil
    mkdir -p ${HOST_ONLY}/atomic-ci-evil 2>/dev/null; echo "tried ${HOST_ONLY}/atomic-ci-evil (only the host can tell whether it escaped)"
    echo 1 > /proc/sys/kernel/sysrq && echo "ESCAPED wrote /proc/sys"
    echo x > /proc/sysrq-trigger 2>/dev/null; touch /sys/evil && echo "ESCAPED wrote /sys"
    test -e ${HOST_ONLY}/package.json && echo "ESCAPED sees the host's checkout"
    exit 1
/network:
  test: |
    if nc -w 2 127.0.0.1 5672 </dev/null; then echo "ESCAPED connected to 127.0.0.1:5672"; exit 0; fi
    echo "no connection"; exit 1
/gigabytes:
  summary: 4 GiB of output against the default 10 MiB cap
  test: head -c 4294967296 /dev/zero | tr '\\0' 'x'
  duration: 2m
/gigabytes-stderr:
  test: yes 0123456789abcdef 1>&2
  duration: 2m
/exactly-the-cap:
  summary: output that ends exactly on the cap is whole, and passes
  test: head -c 131072 /dev/zero
`;
}

beforeAll(async () => {
  const world = await buildFixtureWorld();
  base = await scratch("hostile");
  const repo = join(base, "repo");
  stable = await composeWorld(world, repo, join(base, "work"));
  trees = new TreeCache(repo, join(base, "trees"), ctx);
  const { tree } = await trees.checkout(stable.commit);
  canary = join(base, "canary");
  await writeFile(canary, "host\n");
  probes = join(base, "probes");
  const [commit = ""] = await distGit(probes, [{ ...TMT_PLAN, "tests/main.fmf": probesFmf(base, tree) }]);
  const found = await discoverPackageTests({ repo: probes, rev: commit, package: "hostile" }, ctx);
  tests = new Map(found.tests.map((t) => [t.name.replace("/tests/", ""), t]));
});
afterAll(cleanup);

function options(extra: Partial<RunTestOptions> = {}): RunTestOptions {
  return { trees, subject: stable.commit, gitDir: probes, workDir: join(base, "runs"), errorRetries: 0, ...extra };
}

function probe(name: string): TestCase {
  const test = tests.get(name);
  if (!test) throw new Error(`no probe ${name}`);
  return test;
}

/** Milliseconds the host takes to start a process and get its answer. */
function hostLatency(): number {
  const started = Date.now();
  spawnSync("/bin/true");
  return Date.now() - started;
}

async function leftoverCgroups(): Promise<string[]> {
  const limiter = await pidsLimiter();
  if (limiter.kind !== "cgroup-v1" && limiter.kind !== "cgroup-v2") return [];
  return (await readdir(limiter.parent)).filter((n) => n.startsWith(`t-${process.pid}-`));
}

describe("hostile tests", () => {
  it("puts each sandbox in its own pids cgroup here (root on a cgroup v1 pids hierarchy)", async () => {
    const limiter = await pidsLimiter();
    expect(limiter).toMatchObject({ kind: "cgroup-v1", parent: join("/sys/fs/cgroup/pids", CGROUP_PARENT), pidsMax: 256 });
  });

  it("contains a fork bomb: failed within its duration, the limit named, the host responsive, nothing left over", async () => {
    const started = Date.now();
    const latencies: number[] = [];
    const running = runTest(probe("fork-bomb"), options(), ctx);
    // While the bomb runs, the host still starts processes promptly.
    const sampler = setInterval(() => latencies.push(hostLatency()), 500);
    const run = await running;
    clearInterval(sampler);
    const took = Date.now() - started;
    expect(run.outcome).toBe("failed");
    expect(run.reason).toMatch(/^(timeout|output-limit): .* \(pids\.max 256 reached: \d+ fork\(s\) refused\)$/);
    expect(run.attempts[0]?.forksRefused).toBeGreaterThan(0);
    expect(took).toBeLessThan(6_000 + 5_000);
    expect(latencies.length).toBeGreaterThan(3);
    expect(Math.max(...latencies)).toBeLessThan(2_000);
    expect(await leftoverCgroups()).toEqual([]);
    // No process of the bomb survived its test (they would still be named sh with the test dir as cwd).
    const strays = spawnSync("pgrep", ["-f", "bomb\\(\\)"], { encoding: "utf8" }).stdout.trim();
    expect(strays).toBe("");
  }, 30_000);

  it("caps the processes of one sandbox at pids.max (configurable)", async () => {
    const run = await runTest(probe("fork-count"), options({ limits: { pidsMax: 50 } }), ctx);
    const log = await readFile(run.logPath, "utf8");
    const forked = (await readFile(join(run.artifactsDir, "count"), "utf8")).split("\n").filter((l) => l === "x").length;
    expect(log).toContain("can't fork");
    // bwrap, its init, the shell and the subshells not yet exec'd take their share of the 50
    // (more of it on a loaded machine: 30 were seen): the cap, not an early failure, stopped it.
    expect(forked, log).toBeGreaterThan(10);
    expect(forked).toBeLessThan(50);
    expect(run.attempts[0]?.forksRefused).toBeGreaterThan(0);
    expect(await leftoverCgroups()).toEqual([]);
  }, 30_000);

  it("runs a test under the prlimit fallback too (bwrap started through prlimit --nproc)", async () => {
    const run = await runTest(probe("network"), options({ limits: { mode: "rlimit" } }), ctx);
    expect(await readFile(run.logPath, "utf8")).toContain("no connection");
    expect(run.outcome).toBe("failed");
    expect(run.reason).toBe("exit code 1");
  });

  it("cannot write to the host's paths, the host's checkout, the sandbox's root, /proc/sys or /sys, nor see the host's directories", async () => {
    const run = await runTest(probe("write-host"), options(), ctx);
    expect(run).toMatchObject({ outcome: "failed", reason: "exit code 1" });
    expect(await readFile(run.logPath, "utf8")).not.toContain("ESCAPED");
    expect(await readFile(canary, "utf8")).toBe("host\n");
    expect(existsSync(join(base, "evil-dir"))).toBe(false);
    expect(existsSync(join(HOST_ONLY, "atomic-ci-evil"))).toBe(false);
    const { tree } = await trees.checkout(stable.commit);
    expect(existsSync(join(tree, "usr/bin/evil"))).toBe(false);
  });

  it("cannot reach the host's RabbitMQ on 127.0.0.1:5672 (the host can)", async () => {
    const hostCan = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port: 5672 }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    expect(hostCan).toBe(true);
    const run = await runTest(probe("network"), options(), ctx);
    const log = await readFile(run.logPath, "utf8");
    expect(log).not.toContain("ESCAPED");
    expect(log).toContain("no connection");
    // nc ran and was refused (inside, 127.0.0.1 is the sandbox's own loopback): not a missing tool.
    expect(log).toMatch(/nc: can't connect to remote host \(127\.0\.0\.1\): Connection refused/);
    expect(run.outcome).toBe("failed");
  });

  it("stops gigabytes of output at the default 10 MiB cap, on stdout and on stderr, quickly, without filling the disk", async () => {
    for (const name of ["gigabytes", "gigabytes-stderr"]) {
      const started = Date.now();
      const run = await runTest(probe(name), options(), ctx);
      expect({ name, outcome: run.outcome, reason: run.reason }).toEqual({ name, outcome: "failed", reason: `output-limit: wrote more than ${DEFAULT_MAX_OUTPUT_BYTES} bytes` });
      expect(Date.now() - started).toBeLessThan(20_000);
      const size = (await stat(run.logPath)).size;
      expect(size).toBeGreaterThanOrEqual(DEFAULT_MAX_OUTPUT_BYTES);
      expect(size).toBeLessThan(DEFAULT_MAX_OUTPUT_BYTES + 200);
      expect(await readFile(run.logPath, "utf8")).toMatch(/\[atomic-ci: output passed 10485760 bytes; truncated and the test stopped\]\n$/);
    }
  }, 60_000);

  it("stops output that passes the cap right after a chunk ended exactly on it (64 KiB pipe chunks, a 128 KiB cap)", async () => {
    const started = Date.now();
    const run = await runTest(probe("gigabytes"), options({ maxOutputBytes: 131_072 }), ctx);
    expect(run).toMatchObject({ outcome: "failed", reason: "output-limit: wrote more than 131072 bytes" });
    expect(Date.now() - started).toBeLessThan(10_000);
    const whole = await runTest(probe("exactly-the-cap"), options({ maxOutputBytes: 131_072 }), ctx);
    expect(whole.outcome).toBe("passed");
    expect((await stat(whole.logPath)).size).toBe(131_072);
  }, 30_000);
});
