// A bubblewrap sandbox for running untrusted build code on this machine's own tools: the
// host's /usr (and the merged-/usr links) read-only, a few /etc files rpm and the shell need
// read-only, nothing else of the host; fresh /proc and /dev; every namespace unshared (no
// network: only a loopback interface that is down), uid 0 in a user namespace with every
// capability dropped and no further user namespaces; the root read-only, so the only writable
// places are the directories the caller names. (The test-runner's sandbox in @atomic-ci/testing
// makes a *composed tree* the root; this one keeps the builder's tools and hides the rest.)
import { lstat, readdir, readlink } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { safePath } from "./argv.js";
import { tail, ToolError } from "./errors.js";
import { runTool, type RunToolResult, type ToolEnv } from "./run.js";

/** /etc entries a build needs: user and group names (rpm's %attr), the dynamic linker's cache, Debian's alternatives (awk, …). */
export const SANDBOX_ETC: readonly string[] = [
  "/etc/passwd",
  "/etc/group",
  "/etc/nsswitch.conf",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/localtime",
  "/etc/rpm",
];

export const SANDBOX_PATH = "/usr/sbin:/usr/bin";

/** Printed on stderr by the sandbox's first process, before the command: its absence means bwrap itself failed. */
export const SANDBOX_STARTED = "@@atomic-ci-sandbox-started@@";

export class SandboxError extends Error {
  readonly code = "SANDBOX_UNAVAILABLE";
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.name = "SandboxError";
    this.stderr = stderr;
  }
}

export interface SandboxSpec {
  /** Absolute paths bound read-write at the same place. */
  writable: readonly string[];
  /** Absolute paths bound read-only at the same place. */
  readOnly?: readonly string[];
  /** The command's whole environment (nothing of ours leaks in). */
  env: Readonly<Record<string, string>>;
  cwd: string;
  command: readonly string[];
}

function absolute(path: string, what: string): string {
  safePath(path, what);
  if (!isAbsolute(path)) throw new TypeError(`${what} must be an absolute path: ${path}`);
  return path;
}

/** The host's top-level symlinks into /usr (`/bin` → `usr/bin` …) and directories of those names on a non-merged system. */
async function hostTopLevel(): Promise<string[]> {
  const args: string[] = [];
  for (const name of (await readdir("/")).sort()) {
    if (!/^(bin|sbin|lib|lib32|lib64|libx32)$/.test(name)) continue;
    const stat = await lstat(`/${name}`);
    if (stat.isSymbolicLink()) args.push("--symlink", await readlink(`/${name}`), `/${name}`);
    else if (stat.isDirectory()) args.push("--ro-bind", `/${name}`, `/${name}`);
  }
  return args;
}

/** bwrap's arguments for `spec` (without the program name). */
export async function sandboxArgs(spec: SandboxSpec): Promise<string[]> {
  const args = ["--ro-bind", "/usr", "/usr", ...(await hostTopLevel())];
  for (const path of SANDBOX_ETC) args.push("--ro-bind-try", path, path);
  args.push("--proc", "/proc", "--dev", "/dev");
  for (const path of spec.readOnly ?? []) args.push("--ro-bind", absolute(path, "read-only path"), path);
  for (const path of spec.writable) args.push("--bind", absolute(path, "writable path"), path);
  // The root (bwrap's tmpfs holding the mount points, and the parents of the binds) read-only:
  // no /tmp, no /var/tmp — a build writes where it is told to or nowhere.
  args.push("--remount-ro", "/");
  args.push("--unshare-all", "--unshare-user", "--disable-userns", "--uid", "0", "--gid", "0", "--cap-drop", "ALL");
  args.push("--die-with-parent", "--new-session", "--clearenv");
  for (const [key, value] of Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b))) args.push("--setenv", key, value);
  args.push("--chdir", absolute(spec.cwd, "working directory"));
  // A fixed script, not a command line: it announces the start and execs the argument vector as is.
  args.push("--", "/bin/sh", "-c", 'printf "%s\\n" "$0" >&2; exec "$@"', SANDBOX_STARTED, ...spec.command);
  return args;
}

export interface RunSandboxedOptions {
  /** bwrap's own environment (PATH to find it); the command gets `spec.env` only. */
  env: ToolEnv;
  timeoutMs: number;
  /** Per stream; passing it kills the sandbox (ToolError TOOL_OUTPUT_LIMIT). */
  maxOutputBytes?: number;
}

/**
 * Run `spec.command` in the sandbox. Resolves when it exits 0; a non-zero exit is a ToolError
 * `TOOL_FAILED` named after the command (the command's verdict); bwrap failing to set the
 * sandbox up is a SandboxError (the machine's problem); a timeout or the output limit is
 * runTool's ToolError for `bwrap`.
 */
export async function runSandboxed(spec: SandboxSpec, options: RunSandboxedOptions): Promise<RunToolResult> {
  const args = await sandboxArgs(spec);
  const result = await runTool("bwrap", args, { env: options.env, timeoutMs: options.timeoutMs, okExitCodes: "any", ...(options.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.maxOutputBytes }) });
  const marker = result.stderr.indexOf(`${SANDBOX_STARTED}\n`);
  if (marker < 0) throw new SandboxError(`bwrap could not start the sandbox (exit ${result.code}): ${result.stderr.trim().split("\n").at(-1) ?? ""}`, result.stderr);
  // What bwrap said before the marker is its own; the command's stderr starts after it.
  const stderr = result.stderr.slice(marker + SANDBOX_STARTED.length + 1);
  const out = { code: result.code, stdout: result.stdout, stderr };
  if (result.code === 0) return out;
  const tool = spec.command[0] ?? "command";
  const said = stderr.trim().split("\n").at(-1)?.slice(0, 300);
  throw new ToolError("TOOL_FAILED", `${tool} exited with ${result.code}${said ? `: ${said}` : ""}`, { tool, args: spec.command.slice(1), exitCode: result.code, stderr: tail(stderr), stdout: result.stdout });
}
