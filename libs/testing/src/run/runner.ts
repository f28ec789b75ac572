// A test run: attempts until the outcome counts. An `error` (the runner's failure) is retried
// `errorRetries` times; a `failed` attempt is re-run only as often as the test allows
// (`allowedReruns`). Every attempt is kept; a pass after a failed attempt is `passedOnRerun`.
import { mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { ToolContext } from "@atomic-ci/tools";
import type { TestCase } from "../model.js";
import { runAttempt, type Attempt, type Outcome } from "./attempt.js";
import type { TreeCache } from "./checkout.js";
import { pidsLimiter, type ProcessLimitOptions } from "./limits.js";

export interface RunTestOptions {
  trees: TreeCache;
  /** The ostree commit (or ref) under test: TEST_SUBJECTS. */
  subject: string;
  /** The git repository holding `test.commit` (the package's dist-git or the definition). */
  gitDir: string;
  /** Each run gets its own directory below it (kept: it holds the artifacts). */
  workDir: string;
  /** Automatic retries of an `error`; default 2. */
  errorRetries?: number;
  /** Cap on stdout+stderr in output.log; default 10 MiB. */
  maxOutputBytes?: number;
  /** The process limit of each sandbox (default: pids.max 256 in a cgroup, see limits.ts). */
  limits?: ProcessLimitOptions;
}

export interface TestRun {
  testId: string;
  outcome: Outcome;
  reason?: string;
  /** Sum over attempts. */
  runtimeMs: number;
  /** The counting (last) attempt's artifacts and log. */
  artifactsDir: string;
  logPath: string;
  attempts: Attempt[];
  passedOnRerun: boolean;
}

export const DEFAULT_ERROR_RETRIES = 2;
export const DEFAULT_MAX_OUTPUT_BYTES = 10 * 1024 * 1024;

export async function runTest(test: TestCase, opts: RunTestOptions, ctx: ToolContext): Promise<TestRun> {
  await mkdir(opts.workDir, { recursive: true });
  const runDir = await mkdtemp(join(opts.workDir, `${test.id.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80)}-`));
  const limiter = await pidsLimiter(opts.limits);
  const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  return runAttempts(test, opts.errorRetries ?? DEFAULT_ERROR_RETRIES, (number) =>
    runAttempt(test, number, { trees: opts.trees, subject: opts.subject, gitDir: opts.gitDir, dir: join(runDir, `attempt-${number}`), maxOutputBytes, limiter }, ctx),
  );
}

/**
 * The retry rule every kind of test shares: an error is tried again up to `errorRetries`
 * times, a failure up to the test's own `allowedReruns`; every attempt is kept, and a pass
 * after a failure is recorded as such, never hidden.
 */
export async function runAttempts(test: Pick<TestCase, "id" | "allowedReruns">, errorRetries: number, attempt: (number: number) => Promise<Attempt>): Promise<TestRun> {
  const attempts: Attempt[] = [];
  let errors = 0;
  let reruns = 0;
  for (;;) {
    const next = await attempt(attempts.length + 1);
    attempts.push(next);
    if (next.outcome === "error" && errors < errorRetries) errors++;
    else if (next.outcome === "failed" && reruns < test.allowedReruns) reruns++;
    else break;
  }
  const last = attempts[attempts.length - 1];
  if (!last) throw new Error("unreachable: a run has at least one attempt");
  const run: TestRun = {
    testId: test.id,
    outcome: last.outcome,
    runtimeMs: attempts.reduce((sum, a) => sum + a.runtimeMs, 0),
    artifactsDir: last.artifactsDir,
    logPath: last.logPath,
    attempts,
    passedOnRerun: last.outcome === "passed" && attempts.some((a) => a.outcome === "failed"),
  };
  if (last.reason !== undefined) run.reason = last.reason;
  return run;
}
