import { realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { hasControlCharacter, showValue } from "./errors.js";

/**
 * Keeping paths named by definition files (includes, add-files sources) inside the
 * definition root. Two checks, because each misses what the other sees: the lexical one
 * refuses `../../etc/passwd` without touching the disk; the one after resolving symlinks
 * refuses `innocent.conf -> /etc/shadow`.
 */

export type Confined = { ok: true; absolute: string; display: string } | { ok: false; message: string };

function isOutside(rel: string): boolean {
  return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** `a/b` with forward slashes, as issues and file lists show paths. */
export function displayPath(root: string, absolute: string): string {
  return relative(root, absolute).split(sep).join("/");
}

/** Resolve `reference` (relative to `baseDir`) and check, without the disk, that it stays in `root`. */
export function confineLexically(root: string, baseDir: string, reference: string): Confined {
  if (reference === "") return { ok: false, message: "must not be empty" };
  if (hasControlCharacter(reference)) return { ok: false, message: `${showValue(reference)} contains a control character` };
  if (isAbsolute(reference)) return { ok: false, message: `${showValue(reference)} must be relative to the directory of the file that names it` };
  const absolute = resolve(baseDir, reference);
  const rel = relative(root, absolute);
  if (rel === "" || isOutside(rel)) return { ok: false, message: `${showValue(reference)} is outside the definition root` };
  return { ok: true, absolute, display: displayPath(root, absolute) };
}

/**
 * Check a lexically confined path on disk: it exists, is a regular file once symlinks are
 * resolved, and that resolved file is still inside the (resolved) root. Returns the
 * problem, or undefined.
 */
export async function checkRealFile(realRoot: string, absolute: string, reference: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `${showValue(reference)} does not exist` : `${showValue(reference)} cannot be resolved (${code ?? String(err)})`;
  }
  if (isOutside(relative(realRoot, real))) return `${showValue(reference)} resolves (through a symlink) outside the definition root`;
  const info = await stat(real);
  if (!info.isFile()) return `${showValue(reference)} is not a regular file`;
  return undefined;
}
