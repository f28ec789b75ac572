import { mkdir } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { safeMacroName, safeMacroValue, safePath } from "./argv.js";
import { runTool, type ToolContext } from "./run.js";

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

  const { stdout, stderr } = await runTool("rpmbuild", args, {
    env,
    cwd: topdir,
    timeoutMs: options.timeoutMs ?? 300_000,
  });
  return { rpms: writtenRpms(stdout), stdout, stderr };
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
