// Unpack an RPM's payload into a directory: `rpm2cpio FILE | cpio -idm` with the pipe made
// here (no shell). cpio keeps modes, symlinks and hard links; it needs no root and runs no
// scriptlets — rpm-ostree does not run them either (it imports the payload only).
import { spawn } from "node:child_process";
import { reportToolRun, safePath, tail, ToolError, toolTimingEnabled, type ToolContext } from "@atomic-ci/tools";

export function unpackRpm(rpmFile: string, destDir: string, ctx: ToolContext): Promise<void> {
  if (!toolTimingEnabled()) return unpack(rpmFile, destDir, ctx);
  // A pipe of two tools spawned here, not by runTool: reported to the timing hook as one run.
  const startMs = performance.now();
  const report = (exitCode: number | null) => reportToolRun({ tool: "rpm2cpio|cpio", args: [rpmFile], startMs, endMs: performance.now(), exitCode });
  return unpack(rpmFile, destDir, ctx).then(
    () => report(0),
    (err: unknown) => {
      report(null);
      throw err;
    },
  );
}

function unpack(rpmFile: string, destDir: string, ctx: ToolContext): Promise<void> {
  const timeoutMs = ctx.timeoutMs ?? 300_000;
  const env: Record<string, string> = { LC_ALL: "C" };
  for (const [key, value] of Object.entries(ctx.env)) if (value !== undefined && key !== "LC_ALL") env[key] = value;
  const cpioArgs = ["-idm", "--quiet", "--no-absolute-filenames", "--no-preserve-owner", "-D", safePath(destDir, "unpack directory")];
  return new Promise((resolve, reject) => {
    const rpm2cpio = spawn("rpm2cpio", [safePath(rpmFile, "package file")], { env, stdio: ["ignore", "pipe", "pipe"] });
    const cpio = spawn("cpio", cpioArgs, { env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    let failed = false;
    const fail = (err: ToolError): void => {
      if (failed) return;
      failed = true;
      rpm2cpio.kill("SIGKILL");
      cpio.kill("SIGKILL");
      reject(err);
    };
    const details = (tool: string, exitCode: number | null, cause?: unknown) => ({ tool, args: [rpmFile], exitCode, stderr: tail(stderr), cause });
    const timer = setTimeout(() => fail(new ToolError("TOOL_TIMEOUT", `unpacking ${rpmFile} timed out`, details("rpm2cpio", null))), timeoutMs);
    rpm2cpio.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    cpio.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    cpio.stdin.on("error", () => undefined); // cpio dying early shows up as its exit code
    rpm2cpio.stdout.pipe(cpio.stdin);
    for (const [name, child] of [["rpm2cpio", rpm2cpio], ["cpio", cpio]] as const) {
      child.once("error", (cause: NodeJS.ErrnoException) =>
        fail(new ToolError(cause.code === "ENOENT" ? "TOOL_MISSING" : "TOOL_FAILED", `${name}: ${cause.message}`, details(name, null, cause))),
      );
    }
    let done = 0;
    const exited = (name: string) => (code: number | null) => {
      if (code !== 0) {
        clearTimeout(timer);
        fail(new ToolError("TOOL_FAILED", `${name} exited with ${code ?? "a signal"} unpacking ${rpmFile}: ${stderr.trim().slice(-300)}`, details(name, code)));
        return;
      }
      if (++done === 2 && !failed) {
        clearTimeout(timer);
        resolve();
      }
    };
    rpm2cpio.once("close", exited("rpm2cpio"));
    cpio.once("close", exited("cpio"));
  });
}
