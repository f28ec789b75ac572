import { lstat, mkdir, readdir } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { safeMacroName, safeMacroValue, safePath } from "./argv.js";
import { runTool, type ToolContext } from "./run.js";
import { runSandboxed, SANDBOX_PATH } from "./sandbox.js";

export interface RpmbuildOptions extends ToolContext {
  /** The spec file to build (`rpmbuild -bb`). */
  spec: string;
  /** A private `_topdir`: BUILD, BUILDROOT, temp files and, unless overridden, RPMS live here. */
  topdir: string;
  /** Where binary RPMs are written (`_rpmdir`, as `<rpmDir>/<arch>/<file>`); default `<topdir>/RPMS`. */
  rpmDir?: string;
  /** `_sourcedir`; default `<topdir>/SOURCES`. */
  sourceDir?: string;
  /** Extra macros. Values are macro bodies (rpm expands `%`): pass untrusted text through literalMacroValue. */
  defines?: Readonly<Record<string, string>>;
  /**
   * Makes the RPMs byte-reproducible: SOURCE_DATE_EPOCH becomes the build time and clamps file
   * mtimes, and the build host is fixed, so the same spec gives the same file digest.
   */
  reproducible?: { sourceDateEpoch: number; buildHost: string };
  /**
   * Run rpmbuild inside the bubblewrap sandbox (sandbox.ts) — for specs that are not ours: only
   * the topdir (and `rpmDir`) is writable, the spec's directory and `sourceDir` are read-only,
   * there is no network and nothing else of the host but /usr. `rpms` then lists the files
   * found in `rpmDir`, not what the build printed (the build's output is the spec's to forge).
   */
  sandbox?: {
    /** Per output stream; more kills the build (ToolError TOOL_OUTPUT_LIMIT). Default 16 MiB. */
    maxOutputBytes?: number;
  };
}

export interface RpmbuildResult {
  /** Absolute paths of the binary RPMs written, sorted. */
  rpms: string[];
  stdout: string;
  stderr: string;
}

/**
 * `rpmbuild -bb` in a private topdir. HOME points into the topdir too, so a `~/.rpmmacros` of
 * whoever runs us cannot change what gets built (Debian's rpm reads it).
 */
export async function rpmbuild(options: RpmbuildOptions): Promise<RpmbuildResult> {
  const topdir = absolute(options.topdir, "topdir");
  const rpmDir = absolute(options.rpmDir ?? join(topdir, "RPMS"), "rpmDir");
  const sourceDir = absolute(options.sourceDir ?? join(topdir, "SOURCES"), "sourceDir");
  const home = join(topdir, "home");
  const tmp = join(topdir, "tmp");
  await Promise.all([mkdir(rpmDir, { recursive: true }), mkdir(home, { recursive: true }), mkdir(tmp, { recursive: true })]);

  const macros: Record<string, string> = {
    _topdir: topdir,
    _rpmdir: rpmDir,
    _sourcedir: sourceDir,
    _tmppath: tmp,
    ...options.defines,
  };
  const env: Record<string, string | undefined> = { ...options.env, HOME: home, LC_ALL: "C" };
  if (options.reproducible) {
    env["SOURCE_DATE_EPOCH"] = String(options.reproducible.sourceDateEpoch);
    macros["use_source_date_epoch_as_buildtime"] = "1";
    macros["clamp_mtime_to_source_date_epoch"] = "1";
    macros["_buildhost"] = options.reproducible.buildHost;
  }
  const args = ["-bb"];
  for (const [name, value] of Object.entries(macros)) {
    args.push("--define", `${safeMacroName(name)} ${safeMacroValue(value, `macro ${name}`)}`);
  }
  args.push(absolute(options.spec, "spec"));

  const timeoutMs = options.timeoutMs ?? 300_000;
  if (options.sandbox) {
    const inside: Record<string, string> = { PATH: SANDBOX_PATH, HOME: home, LC_ALL: "C", TMPDIR: tmp };
    if (env["SOURCE_DATE_EPOCH"] !== undefined) inside["SOURCE_DATE_EPOCH"] = env["SOURCE_DATE_EPOCH"];
    const spec = absolute(options.spec, "spec");
    const writable = [topdir, ...(within(topdir, rpmDir) ? [] : [rpmDir])];
    const readOnly = [...new Set([dirname(spec), sourceDir])].filter((p) => !writable.some((w) => within(w, p)));
    const { stdout, stderr } = await runSandboxed(
      { writable, readOnly, env: inside, cwd: topdir, command: ["rpmbuild", ...args] },
      { env: options.env, timeoutMs, ...(options.sandbox.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.sandbox.maxOutputBytes }) },
    );
    return { rpms: await rpmFilesIn(rpmDir), stdout, stderr };
  }
  const { stdout, stderr } = await runTool("rpmbuild", args, { env, cwd: topdir, timeoutMs });
  return { rpms: writtenRpms(stdout), stdout, stderr };
}

function within(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Regular `*.rpm` files below `dir` (symlinks are not followed: a build could point one anywhere), sorted. */
export async function rpmFilesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if (entry.endsWith(".rpm") && (await lstat(path)).isFile()) found.push(path);
  }
  return found.sort();
}

/**
 * rpmbuild announces each package it wrote as `Wrote: <path>` on stdout. It writes
 * subpackages in parallel, so the order varies: sorted here.
 */
export function writtenRpms(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("Wrote: ") && line.endsWith(".rpm"))
    .map((line) => line.slice("Wrote: ".length).trim())
    .sort();
}

function absolute(path: string, what: string): string {
  safePath(path, what);
  return isAbsolute(path) ? path : resolve(path);
}
