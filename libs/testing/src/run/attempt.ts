// One attempt of one test: check out the tree, copy the test's directory from git at the
// test's commit, run it in the sandbox, judge it. Anything that goes wrong before or around
// the test itself (ostree, git, tar, bwrap) is an `error`, never `failed`.
import { existsSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { gitEnv, runTool, safeGitRev, safePath, safeRepoPath, type ToolContext } from "@atomic-ci/tools";
import type { TestCase } from "../model.js";
import { execSandbox, STATUS_FD } from "./exec.js";
import type { PidsLimiter } from "./limits.js";
import { bwrapArgs, SANDBOX_ARTIFACTS, SANDBOX_PATH, treeDirs, treeLinks } from "./sandbox.js";
import type { TreeCache } from "./checkout.js";
import { parseChecks, verdict, type Check } from "./verdict.js";

export type Outcome = "passed" | "failed" | "error";

export interface Attempt {
  number: number;
  outcome: Outcome;
  reason?: string;
  exitCode?: number;
  runtimeMs: number;
  artifactsDir: string;
  logPath: string;
  checks: Check[];
  /** Forks refused because the sandbox had pids.max processes (a fork bomb, or a test needing more). */
  forksRefused?: number;
}

export interface AttemptContext {
  trees: TreeCache;
  subject: string;
  gitDir: string;
  dir: string;
  maxOutputBytes: number;
  limiter: PidsLimiter;
}

export async function runAttempt(test: TestCase, number: number, at: AttemptContext, ctx: ToolContext): Promise<Attempt> {
  const started = Date.now();
  const artifactsDir = join(at.dir, "artifacts");
  const logPath = join(artifactsDir, "output.log");
  const base = { number, artifactsDir, logPath, checks: [] as Check[] };
  try {
    await mkdir(artifactsDir, { recursive: true });
    const { commit, tree } = await at.trees.checkout(at.subject);
    const testDir = await copyTestDir(test, at.gitDir, join(at.dir, "src"), ctx);
    const env = { ...test.environment, PATH: SANDBOX_PATH, HOME: "/root", USER: "root", LANG: "C", TERM: "dumb", TEST_SUBJECTS: commit, TEST_ARTIFACTS: SANDBOX_ARTIFACTS, ATOMIC_CI_ATTEMPT: String(number) };
    const args = bwrapArgs({ tree, links: await treeLinks(tree), dirs: await treeDirs(tree), testDir, artifactsDir, env, command: test.command, statusFd: STATUS_FD });
    const run = await execSandbox(args, { env: ctx.env, logPath, timeoutMs: test.timeoutMs, maxOutputBytes: at.maxOutputBytes, limiter: at.limiter });
    const runtimeMs = Date.now() - started;
    // Said beside the reason: a test stopped for time or output that also hit the process limit was most likely a fork bomb.
    const forks = run.forksRefused > 0 ? { forksRefused: run.forksRefused } : {};
    const hit = run.forksRefused > 0 ? ` (pids.max ${at.limiter.pidsMax} reached: ${run.forksRefused} fork(s) refused)` : "";
    if (run.stopped === "timeout") return { ...base, ...forks, outcome: "failed", reason: `timeout: stopped after its duration of ${test.timeoutMs} ms${hit}`, runtimeMs };
    if (run.stopped === "output-limit") return { ...base, ...forks, outcome: "failed", reason: `output-limit: wrote more than ${at.maxOutputBytes} bytes${hit}`, runtimeMs };
    if (run.exitCode === undefined) return { ...base, outcome: "error", reason: `sandbox: ${run.setupError ?? "the test did not start"}`, runtimeMs };
    const checks = parseChecks(await testLog(artifactsDir, logPath));
    const judged = verdict(run.exitCode, checks);
    if (judged.reason !== undefined) judged.reason += hit;
    return { ...base, ...forks, ...judged, exitCode: run.exitCode, checks, runtimeMs };
  } catch (cause) {
    return { ...base, outcome: "error", reason: cause instanceof Error ? cause.message.split("\n")[0] ?? "" : String(cause), runtimeMs: Date.now() - started };
  }
}

/** `git archive` of the test's directory at its commit, unpacked: the path that becomes the cwd. */
async function copyTestDir(test: TestCase, gitDir: string, into: string, ctx: ToolContext): Promise<string> {
  await mkdir(into, { recursive: true });
  const tar = `${into}.tar`;
  const paths = test.dir === "." ? [] : ["--", safeRepoPath(test.dir)];
  const options = { env: gitEnv(ctx.env), timeoutMs: ctx.timeoutMs ?? 60_000 };
  await runTool("git", ["-C", safePath(gitDir, "repository"), "archive", "--format=tar", `--output=${safePath(tar)}`, safeGitRev(test.commit), ...paths], options);
  await runTool("tar", ["-xf", safePath(tar), "-C", safePath(into), "--no-same-owner"], options);
  const dir = join(into, test.dir);
  if (!(await stat(dir)).isDirectory()) throw new Error(`${test.dir} is not a directory at ${test.commit}`);
  return dir;
}

/** The test's own test.log when it wrote one (STI), else its output. Capped at what the log holds. */
async function testLog(artifactsDir: string, logPath: string): Promise<string> {
  const own = join(artifactsDir, "test.log");
  if (existsSync(own) && (await stat(own)).isFile()) return (await readFile(own, "utf8")).slice(0, 1024 * 1024);
  return (await readFile(logPath, "utf8")).slice(0, 1024 * 1024);
}
