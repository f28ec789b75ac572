// Start bwrap and watch it: stdout and stderr go to one log file up to a cap, a timer enforces
// the test's duration, and bwrap's JSON status on an extra pipe says whether the test itself
// ran and how it exited. No exit status there means bwrap failed before the test started.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import type { ToolEnv } from "@atomic-ci/tools";

export interface ExecResult {
  /** The test's exit code as bwrap reported it; undefined when the test never started. */
  exitCode?: number;
  stopped?: "timeout" | "output-limit";
  /** Why the sandbox could not run (spawn failure, bwrap's own error). */
  setupError?: string;
  outputBytes: number;
}

export const STATUS_FD = 3;

export function execSandbox(args: readonly string[], opts: { env: ToolEnv; logPath: string; timeoutMs: number; maxOutputBytes: number }): Promise<ExecResult> {
  return new Promise((resolve) => {
    const log = createWriteStream(opts.logPath);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
    const child = spawn("bwrap", [...args], { env, detached: true, stdio: ["ignore", "pipe", "pipe", "pipe"] });
    let bytes = 0;
    let stopped: ExecResult["stopped"];
    let status = "";
    let stderrTail = "";
    let spawnError: string | undefined;

    const kill = (why: NonNullable<ExecResult["stopped"]>): void => {
      stopped ??= why;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL"); // bwrap's group; the sandbox dies with it (--die-with-parent)
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => kill("timeout"), opts.timeoutMs);
    const onOutput = (chunk: Buffer): void => {
      if (bytes >= opts.maxOutputBytes) return;
      const room = opts.maxOutputBytes - bytes;
      log.write(chunk.subarray(0, room));
      bytes += Math.min(room, chunk.length);
      if (chunk.length > room) {
        log.write(`\n[atomic-ci: output passed ${opts.maxOutputBytes} bytes; truncated and the test stopped]\n`);
        kill("output-limit");
      }
    };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString("utf8")).slice(-2000);
      onOutput(chunk);
    });
    (child.stdio[STATUS_FD] as Readable | null)?.on("data", (chunk: Buffer) => (status += chunk.toString("utf8")));
    child.once("error", (err) => (spawnError = `bwrap could not be started: ${err.message}`));
    child.once("close", () => {
      clearTimeout(timer);
      log.end(() => {
        const exitCode = exitCodeOf(status);
        const result: ExecResult = { outputBytes: bytes };
        if (exitCode !== undefined) result.exitCode = exitCode;
        if (stopped) result.stopped = stopped;
        if (spawnError) result.setupError = spawnError;
        else if (exitCode === undefined && !stopped) result.setupError = lastBwrapLine(stderrTail) ?? "bwrap exited before starting the test";
        resolve(result);
      });
    });
  });
}

/** bwrap writes one JSON object per line: `{"child-pid": N}`, then `{"exit-code": N}`. */
function exitCodeOf(status: string): number | undefined {
  for (const line of status.split("\n")) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (typeof parsed["exit-code"] === "number") return parsed["exit-code"];
    } catch {
      // partial or empty line
    }
  }
  return undefined;
}

function lastBwrapLine(stderr: string): string | undefined {
  return stderr.split("\n").reverse().find((l) => l.startsWith("bwrap:"))?.trim();
}
