// Thin wrappers around ostree, gpg and the compressors, run through runTool (argument vector,
// never a shell). Libraries never read process.env: the caller's ToolContext carries it.
import { runTool, safeArg, safePath, type RunToolResult, type ToolContext } from "@atomic-ci/tools";

const OSTREE_TIMEOUT_MS = 10 * 60_000;

export interface GpgKey {
  /** Fingerprint or key id of the signing key. */
  keyId: string;
  /** The GnuPG home directory holding the secret key. */
  homedir: string;
}

function timeout(ctx: ToolContext, fallback: number): number {
  return ctx.timeoutMs ?? fallback;
}

export function ostree(ctx: ToolContext, repo: string, sub: string, ...args: string[]): Promise<RunToolResult> {
  return runTool("ostree", [sub, `--repo=${safePath(repo)}`, ...args], { env: ctx.env, timeoutMs: timeout(ctx, OSTREE_TIMEOUT_MS) });
}

/** The commit a ref points to, or undefined when the ref does not exist. */
export async function revParse(ctx: ToolContext, repo: string, ref: string): Promise<string | undefined> {
  const result = await runTool("ostree", ["rev-parse", `--repo=${safePath(repo)}`, safeArg(ref)], {
    env: ctx.env,
    timeoutMs: timeout(ctx, OSTREE_TIMEOUT_MS),
    okExitCodes: "any",
  });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** The refs a commit is bound to (`ostree.ref-binding`), [] when it has none. */
export async function refBindings(ctx: ToolContext, repo: string, commit: string): Promise<string[]> {
  const result = await runTool("ostree", ["show", `--repo=${safePath(repo)}`, "--print-metadata-key=ostree.ref-binding", commit], {
    env: ctx.env,
    timeoutMs: timeout(ctx, OSTREE_TIMEOUT_MS),
    okExitCodes: "any",
  });
  if (result.code !== 0) return [];
  return [...result.stdout.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? "");
}

/** gpg in batch mode against one home directory. */
export function gpg(ctx: ToolContext, homedir: string, ...args: string[]): Promise<RunToolResult> {
  return runTool("gpg", ["--batch", "--no-tty", "--homedir", safePath(homedir), ...args], {
    env: { ...ctx.env, GNUPGHOME: homedir },
    timeoutMs: timeout(ctx, 2 * 60_000),
  });
}

/** A detached binary signature `<file>.sig`, as Fedora CoreOS publishes next to each artifact. */
export async function detachSign(ctx: ToolContext, key: GpgKey, file: string): Promise<string> {
  const sig = `${file}.sig`;
  await gpg(ctx, key.homedir, "--yes", "--pinentry-mode", "loopback", "--passphrase", "", "--local-user", safeArg(key.keyId), "--detach-sign", "--output", sig, file);
  return sig;
}

export type Compression = "xz" | "gz";

/** xz when the `xz` CLI is installed (what Fedora CoreOS ships), else gzip. */
export async function pickCompression(ctx: ToolContext): Promise<Compression> {
  try {
    await runTool("xz", ["--version"], { env: ctx.env, timeoutMs: 10_000 });
    return "xz";
  } catch {
    return "gz";
  }
}

/** Compress `file` in place: it becomes `<file>.<ext>` (the original is removed). */
export async function compressInPlace(ctx: ToolContext, compression: Compression, file: string, level = 6): Promise<string> {
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`compression level ${level} is not 0-9`);
  if (compression === "xz") await runTool("xz", ["-T0", `-${level}`, "--force", file], { env: ctx.env, timeoutMs: timeout(ctx, 30 * 60_000) });
  else await runTool("gzip", ["-n", `-${Math.max(1, level)}`, "--force", file], { env: ctx.env, timeoutMs: timeout(ctx, 30 * 60_000) });
  return `${file}.${compression}`;
}
