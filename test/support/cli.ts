import { execFile, spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const MAIN = join(REPO_ROOT, "cli", "src", "main.ts");

/** The shared fixtures beside the repository (`../shared`), or `ATOMIC_CI_SHARED_DIR`. */
export const FEDORA_FIXTURES = join(process.env["ATOMIC_CI_SHARED_DIR"] ?? join(REPO_ROOT, "..", "shared"), "fixtures", "fedora-messages");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `atomic-ci ARGS...` the way `pnpm atomic-ci` does, without a shell. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(TSX, [MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start `atomic-ci ARGS...` in the background (e.g. `messages tail`). */
export function startCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(TSX, [MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}
