import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isToolError, ToolError } from "./errors.js";
import { runTool } from "./run.js";

const env = { PATH: process.env["PATH"] };
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tools-run-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<ToolError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ToolError) return err;
    throw err;
  }
  throw new Error("expected a ToolError");
}

describe("runTool", () => {
  it("captures stdout, stderr and the exit code", async () => {
    const result = await runTool("sh", ["-c", 'printf out; printf err >&2'], { env, timeoutMs: 5000 });
    expect(result).toEqual({ code: 0, stdout: "out", stderr: "err" });
  });

  it("passes arguments literally: metacharacters reach the tool as text and run nothing", async () => {
    const dir = tempDir();
    const evil = `$(touch ${join(dir, "pwned")}); rm -rf ${dir} \`id\` *`;
    const result = await runTool("printf", ["%s", evil], { env, cwd: dir, timeoutMs: 5000 });
    expect(result.stdout).toBe(evil);
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it("feeds input to stdin", async () => {
    const result = await runTool("cat", [], { env, input: "line one\nline two\n", timeoutMs: 5000 });
    expect(result.stdout).toBe("line one\nline two\n");
  });

  it("runs with the environment it is given, not ours", async () => {
    const result = await runTool("sh", ["-c", 'printf "%s|%s" "$ATOMIC_X" "${HOME:-unset}"'], {
      env: { PATH: env.PATH, ATOMIC_X: "y" },
      timeoutMs: 5000,
    });
    expect(result.stdout).toBe("y|unset");
  });

  it("throws TOOL_FAILED with the exit code and stderr tail on a non-zero exit", async () => {
    const err = await failure(runTool("sh", ["-c", "echo 'nothing provides libfoo' >&2; exit 3"], { env, timeoutMs: 5000 }));
    expect(err.code).toBe("TOOL_FAILED");
    expect(err.exitCode).toBe(3);
    expect(err.stderr).toContain("nothing provides libfoo");
    expect(err.message).toBe("sh exited with 3: nothing provides libfoo");
    expect(err.infrastructure).toBe(false);
    expect(err.args).toEqual(["-c", "echo 'nothing provides libfoo' >&2; exit 3"]);
  });

  it("returns exit codes listed as ok instead of throwing", async () => {
    const result = await runTool("sh", ["-c", "exit 1"], { env, timeoutMs: 5000, okExitCodes: [0, 1] });
    expect(result.code).toBe(1);
    const any = await runTool("sh", ["-c", "exit 7"], { env, timeoutMs: 5000, okExitCodes: "any" });
    expect(any.code).toBe(7);
  });

  it("tells a missing binary (infrastructure) from a failing one", async () => {
    const err = await failure(runTool("atomic-ci-no-such-tool", ["x"], { env, timeoutMs: 5000 }));
    expect(err.code).toBe("TOOL_MISSING");
    expect(err.tool).toBe("atomic-ci-no-such-tool");
    expect(err.exitCode).toBeNull();
    expect(err.infrastructure).toBe(true);
    expect(isToolError(err, "TOOL_MISSING")).toBe(true);
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("does not blame the binary when the working directory is missing", async () => {
    const err = await failure(runTool("true", [], { env, cwd: "/nonexistent/atomic-ci", timeoutMs: 5000 }));
    expect(err.code).toBe("TOOL_FAILED");
    expect(err.message).toContain("working directory");
  });

  it("kills the whole process group on timeout", async () => {
    const dir = tempDir();
    const started = Date.now();
    // The grandchild would create the file after 1.5 s if it survived the kill.
    const err = await failure(
      runTool("sh", ["-c", `(sleep 1.5; touch ${join(dir, "survived")}) & sleep 10`], { env, timeoutMs: 200 }),
    );
    expect(err.code).toBe("TOOL_TIMEOUT");
    expect(err.infrastructure).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 1800));
    expect(existsSync(join(dir, "survived"))).toBe(false);
  });

  it("kills a tool that floods its output past the limit", async () => {
    const err = await failure(runTool("yes", [], { env, timeoutMs: 5000, maxOutputBytes: 64 * 1024 }));
    expect(err.code).toBe("TOOL_OUTPUT_LIMIT");
    expect(err.stdout.length).toBe(64 * 1024);
  });

  it("refuses a NUL byte in an argument before spawning anything", () => {
    expect(() => runTool("echo", ["a\0b"], { env, timeoutMs: 5000 })).toThrow(/NUL/);
  });
});
