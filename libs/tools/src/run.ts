import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { tail, ToolError } from "./errors.js";
import { reportToolRun, toolTimingEnabled } from "./timing.js";

/** Environment handed to a tool. Callers pass it in: libraries never read `process.env`. */
export type ToolEnv = Readonly<Record<string, string | undefined>>;

/** What every wrapper needs to run a tool. */
export interface ToolContext {
  env: ToolEnv;
  /** Per invocation; wrappers pick a sensible default when omitted. */
  timeoutMs?: number;
}

export interface RunToolOptions {
  cwd?: string;
  env: ToolEnv;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  timeoutMs: number;
  /** Per stream. Passing it kills the tool (TOOL_OUTPUT_LIMIT): a silently cut stdout would be parsed wrong. */
  maxOutputBytes?: number;
  /** Exit codes returned rather than thrown; default [0]. `"any"` returns every exit. */
  okExitCodes?: readonly number[] | "any";
}

export interface RunToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Run `cmd` with an argument vector — never through a shell, so nothing in `args` is
 * interpreted (no globbing, no `$(...)`, no `;`). The tool runs in its own process group so a
 * timeout also kills what it spawned (rpmbuild runs /bin/sh, dnf runs rpm).
 */
export function runTool(cmd: string, args: readonly string[], options: RunToolOptions): Promise<RunToolResult> {
  for (const value of [cmd, ...args]) {
    if (value.includes("\0")) throw new TypeError(`runTool ${cmd}: an argument contains a NUL byte`);
  }
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const ok = options.okExitCodes ?? [0];
  const argv = [...args];

  const timed = toolTimingEnabled();
  const startMs = timed ? performance.now() : 0;
  const run = new Promise<RunToolResult>((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: options.cwd,
      env: dropUndefined(options.env),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: true,
      shell: false,
    });
    const out = new Collector(limit);
    const err = new Collector(limit);
    let killedFor: "TOOL_TIMEOUT" | "TOOL_OUTPUT_LIMIT" | undefined;
    let settled = false;

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL"); // the group is already gone; make sure the leader is too
      }
    };
    const timer = setTimeout(() => {
      killedFor ??= "TOOL_TIMEOUT";
      killGroup();
    }, options.timeoutMs);

    const onData = (collector: Collector) => (chunk: Buffer) => {
      if (!collector.push(chunk) && killedFor === undefined) {
        killedFor = "TOOL_OUTPUT_LIMIT";
        killGroup();
      }
    };
    // Both are pipes (stdio above); the types cannot know that.
    child.stdout?.on("data", onData(out));
    child.stderr?.on("data", onData(err));

    if (child.stdin) {
      // A tool may exit without reading its input; that is its business, not an error here.
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input);
    }

    const details = (extra: { exitCode: number | null; signal?: NodeJS.Signals | null; cause?: unknown }) => ({
      tool: cmd,
      args: argv,
      stderr: tail(err.text()),
      stdout: out.text(),
      ...extra,
    });

    child.once("error", (cause: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(spawnError(cmd, options.cwd, cause, details({ exitCode: null, cause })));
    });

    child.once("close", (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killedFor === "TOOL_TIMEOUT") {
        reject(new ToolError(killedFor, `${cmd} timed out after ${options.timeoutMs} ms`, details({ exitCode: null, signal })));
        return;
      }
      if (killedFor === "TOOL_OUTPUT_LIMIT") {
        reject(new ToolError(killedFor, `${cmd} wrote more than ${limit} bytes to one stream`, details({ exitCode: null, signal })));
        return;
      }
      if (code === null) {
        reject(new ToolError("TOOL_FAILED", `${cmd} was killed by ${signal ?? "a signal"}`, details({ exitCode: null, signal })));
        return;
      }
      if (ok === "any" || ok.includes(code)) {
        resolve({ code, stdout: out.text(), stderr: err.text() });
        return;
      }
      const said = lastLine(err.text()) ?? lastLine(out.text());
      const message = `${cmd} exited with ${code}${said ? `: ${said}` : ""}`;
      reject(new ToolError("TOOL_FAILED", message, details({ exitCode: code })));
    });
  });
  if (!timed) return run;
  const report = (exitCode: number | null) => reportToolRun({ tool: cmd, args: argv, startMs, endMs: performance.now(), exitCode });
  return run.then(
    (result) => {
      report(result.code);
      return result;
    },
    (err: unknown) => {
      report(err instanceof ToolError ? err.exitCode : null);
      throw err;
    },
  );
}

function spawnError(
  cmd: string,
  cwd: string | undefined,
  cause: NodeJS.ErrnoException,
  details: ConstructorParameters<typeof ToolError>[2],
): ToolError {
  // Node reports a missing working directory as ENOENT of the command: tell them apart.
  if (cause.code === "ENOENT" && cwd !== undefined && !isDirectory(cwd)) {
    return new ToolError("TOOL_FAILED", `${cmd}: working directory ${cwd} does not exist`, details);
  }
  if (cause.code === "ENOENT" || cause.code === "EACCES" || cause.code === "ENOTDIR") {
    return new ToolError("TOOL_MISSING", `${cmd} is not installed or not executable (${cause.code})`, details);
  }
  return new ToolError("TOOL_FAILED", `${cmd} could not be started: ${cause.message}`, details);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function lastLine(text: string): string | undefined {
  const lines = text.trim().split("\n");
  const line = lines[lines.length - 1]?.trim();
  return line ? line.slice(0, 300) : undefined;
}

function dropUndefined(env: ToolEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) result[key] = value;
  return result;
}

/** Collects a stream's chunks up to a byte limit; `push` answers false once the limit is passed. */
class Collector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): boolean {
    if (this.size + chunk.length > this.limit) {
      this.chunks.push(chunk.subarray(0, Math.max(0, this.limit - this.size)));
      this.size = this.limit;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
