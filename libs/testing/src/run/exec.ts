// Start bwrap and watch it: stdout and stderr go to one log file up to a cap, a timer enforces
// the test's duration, and bwrap's JSON status on an extra pipe says whether the test itself
// ran and how it exited. No exit status there means bwrap failed before the test started.
// The sandbox gets its own pids cgroup (limits.ts): bwrap waits on `--block-fd` until it and
// its first child are in it, so nothing the test starts is ever outside.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { reportToolRun, toolTimingEnabled, type ToolEnv } from "@atomic-ci/tools";
import { SandboxCgroup, type PidsLimiter } from "./limits.js";

export interface ExecResult {
  /** The test's exit code as bwrap reported it; undefined when the test never started. */
  exitCode?: number;
  stopped?: "timeout" | "output-limit";
  /** Why the sandbox could not run (spawn failure, bwrap's own error, the cgroup). */
  setupError?: string;
  outputBytes: number;
  /** How the process count was limited. */
  pidsLimit: PidsLimiter["kind"];
  /** Forks the pids cgroup refused (the test hit pids.max); 0 without a cgroup. */
  forksRefused: number;
}

export const STATUS_FD = 3;
/** bwrap reads one byte here before it starts the test: the cgroup is set up by then. */
export const BLOCK_FD = 4;

export interface ExecOptions {
  env: ToolEnv;
  logPath: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Default: no process limit (`none`). */
  limiter?: PidsLimiter;
}

export async function execSandbox(args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  const limiter: PidsLimiter = opts.limiter ?? { kind: "none", pidsMax: 0, why: "not asked for" };
  let cgroup: SandboxCgroup | undefined;
  if (limiter.kind === "cgroup-v1" || limiter.kind === "cgroup-v2") {
    try {
      cgroup = await SandboxCgroup.create(limiter);
    } catch (err) {
      return { outputBytes: 0, pidsLimit: limiter.kind, forksRefused: 0, setupError: `pids cgroup: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  const startMs = performance.now();
  const result = await watch(args, opts, limiter, cgroup);
  // bwrap is spawned here (its status and block fds), not by runTool: report its run to the timing hook.
  if (toolTimingEnabled()) reportToolRun({ tool: "bwrap", args, startMs, endMs: performance.now(), exitCode: result.exitCode ?? null });
  if (cgroup) {
    result.forksRefused = await cgroup.forksRefused();
    await cgroup.remove();
  }
  return result;
}

function watch(args: readonly string[], opts: ExecOptions, limiter: PidsLimiter, cgroup: SandboxCgroup | undefined): Promise<ExecResult> {
  return new Promise((resolve) => {
    const log = createWriteStream(opts.logPath);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
    const bwrap = ["--block-fd", String(BLOCK_FD), ...args];
    // RLIMIT_NPROC is per real uid (and ignored for root): only a fallback, see limits.ts.
    const [command, argv] = limiter.kind === "rlimit" ? ["prlimit", [`--nproc=${limiter.pidsMax}:${limiter.pidsMax}`, "--", "bwrap", ...bwrap]] : ["bwrap", bwrap];
    const child = spawn(command, argv, { env, detached: true, stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"] });
    let bytes = 0;
    let stopped: ExecResult["stopped"];
    let status = "";
    let stderrTail = "";
    let spawnError: string | undefined;
    let limitError: string | undefined;
    let released = false;

    const kill = (why?: NonNullable<ExecResult["stopped"]>): void => {
      if (why) stopped ??= why;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL"); // bwrap's group; the sandbox dies with it (--die-with-parent, pid namespace)
        } catch {
          child.kill("SIGKILL");
        }
      }
      // Whatever escaped the process group (a new session inside) is still in the cgroup.
      void cgroup?.killAll();
    };
    const timer = setTimeout(() => kill("timeout"), opts.timeoutMs);
    const block = child.stdio[BLOCK_FD] as Writable | null;
    block?.on("error", () => undefined); // bwrap gone before it read: its exit says why
    const release = async (sandboxPid: number): Promise<void> => {
      released = true;
      try {
        if (cgroup && child.pid !== undefined) {
          await cgroup.adopt(child.pid);
          await cgroup.adopt(sandboxPid);
        }
        block?.end("1");
      } catch (err) {
        limitError = `pids cgroup: cannot move the sandbox into ${cgroup?.dir ?? "?"}: ${err instanceof Error ? err.message : String(err)}`;
        kill();
      }
    };
    let capped = false;
    const onOutput = (chunk: Buffer): void => {
      if (capped) return;
      const room = opts.maxOutputBytes - bytes;
      if (chunk.length <= room) {
        log.write(chunk);
        bytes += chunk.length;
        return;
      }
      // Past the cap, also when the cap fell exactly on the end of the previous chunk (pipes deliver 64 KiB, 10 MiB is 160 of them).
      capped = true;
      log.write(chunk.subarray(0, room));
      bytes = opts.maxOutputBytes;
      log.write(`\n[atomic-ci: output passed ${opts.maxOutputBytes} bytes; truncated and the test stopped]\n`);
      kill("output-limit");
    };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString("utf8")).slice(-2000);
      onOutput(chunk);
    });
    (child.stdio[STATUS_FD] as Readable | null)?.on("data", (chunk: Buffer) => {
      status += chunk.toString("utf8");
      if (!released) {
        const pid = jsonField(status, "child-pid");
        if (pid !== undefined) void release(pid);
      }
    });
    child.once("error", (err) => (spawnError = `${command} could not be started: ${err.message}`));
    child.once("close", () => {
      clearTimeout(timer);
      log.end(() => {
        const exitCode = jsonField(status, "exit-code");
        const result: ExecResult = { outputBytes: bytes, pidsLimit: limiter.kind, forksRefused: 0 };
        if (exitCode !== undefined && !limitError) result.exitCode = exitCode;
        if (stopped) result.stopped = stopped;
        if (spawnError) result.setupError = spawnError;
        else if (limitError) result.setupError = limitError;
        else if (exitCode === undefined && !stopped) result.setupError = lastBwrapLine(stderrTail) ?? "bwrap exited before starting the test";
        resolve(result);
      });
    });
  });
}

/** bwrap writes one JSON object per line: `{"child-pid": N, ...}`, then `{"exit-code": N}`. */
function jsonField(status: string, field: string): number | undefined {
  for (const line of status.split("\n")) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (typeof parsed[field] === "number") return parsed[field];
    } catch {
      // partial or empty line
    }
  }
  return undefined;
}

function lastBwrapLine(stderr: string): string | undefined {
  return stderr.split("\n").reverse().find((l) => l.startsWith("bwrap:"))?.trim();
}
