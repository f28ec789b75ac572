// dist-git's lookaside cache: a package's `sources` file lists the tarballs (and other large
// files) that are not in git, each by name and SHA512; the files themselves live in the
// lookaside store at `<base>/<name>/<file>/sha512/<hash>/<file>` (Fedora's layout, e.g.
// https://src.fedoraproject.org/repo/pkgs/rpms/<name>/...). Both the `sources` file and the
// names in it come from the change under test, so they are parsed strictly and every path is
// checked to stay inside the store and inside the destination directory.
import { createHash } from "node:crypto";
import { lstat, open, readFile, rm } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { safeRpmName } from "./argv.js";

export type LookasideErrorCode =
  | "SOURCES_INVALID" // the sources file is not in a format we read
  | "SOURCE_UNSAFE" // a file name or hash that would leave the store or the destination
  | "SOURCE_MISSING" // the store has no such file (never uploaded): the change's fault
  | "SOURCE_MISMATCH" // the store's file does not have the listed SHA512 (the store is corrupt)
  | "SOURCE_TOO_LARGE" // bigger than the limit
  | "LOOKASIDE_UNREACHABLE"; // the store could not be read (I/O, HTTP 5xx, network)

export class LookasideError extends Error {
  readonly code: LookasideErrorCode;
  constructor(code: LookasideErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LookasideError";
    this.code = code;
  }

  /** A verdict about the change (a bad `sources` file, a file nobody uploaded) rather than the machine's trouble. */
  get changeAtFault(): boolean {
    return this.code === "SOURCES_INVALID" || this.code === "SOURCE_UNSAFE" || this.code === "SOURCE_MISSING" || this.code === "SOURCE_TOO_LARGE";
  }
}

export interface LookasideSource {
  /** A plain file name (no directory part). */
  file: string;
  /** Lowercase hex SHA512. */
  sha512: string;
}

/**
 * A lookaside file name: one path component of letters, digits and `._+~-`, not starting with
 * `.` or `-` (so never `.`, `..`, a hidden file or an option), at most 255 bytes.
 */
const FILE_NAME = /^[A-Za-z0-9_+~][A-Za-z0-9._+~-]*$/;
const SHA512 = /^[0-9a-f]{128}$/;

export function safeSourceName(file: string): string {
  if (file.length > 255 || !FILE_NAME.test(file)) throw new LookasideError("SOURCE_UNSAFE", `lookaside file name ${JSON.stringify(file)} is not a plain file name (letters, digits and ._+~- only)`);
  return file;
}

/**
 * Parse dist-git's `sources` file: one `SHA512 (<file>) = <hex>` per line (what `fedpkg
 * new-sources` writes), blank lines ignored. The old `<md5>  <file>` form and other hashes are
 * refused: MD5 cannot vouch for what gets built.
 */
export function parseSourcesFile(text: string): LookasideSource[] {
  const out: LookasideSource[] = [];
  const seen = new Set<string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    const m = /^SHA512 \((.+)\) = ([0-9a-fA-F]+)$/.exec(line);
    if (!m?.[1] || !m[2]) throw new LookasideError("SOURCES_INVALID", `sources line ${i + 1} is not "SHA512 (<file>) = <hex>": ${JSON.stringify(line.slice(0, 200))}`);
    const file = safeSourceName(m[1]);
    const sha512 = m[2].toLowerCase();
    if (!SHA512.test(sha512)) throw new LookasideError("SOURCES_INVALID", `sources line ${i + 1}: the SHA512 of ${file} is not 128 hex digits`);
    if (seen.has(file)) throw new LookasideError("SOURCES_INVALID", `sources lists ${file} twice`);
    seen.add(file);
    out.push({ file, sha512 });
  });
  return out;
}

function isUrl(base: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(base);
}

/**
 * Where the store keeps `source` of package `name`: `<base>/<name>/<file>/sha512/<hash>/<file>`.
 * `base` is a directory or a `file://`, `http://` or `https://` URL. Throws SOURCE_UNSAFE when
 * the result would not be inside `base` (it cannot, given the checks; this is the last guard).
 */
export function lookasideLocation(base: string, name: string, source: LookasideSource): string {
  safeRpmName(name, "package name");
  const file = safeSourceName(source.file);
  if (!SHA512.test(source.sha512)) throw new LookasideError("SOURCE_UNSAFE", `${file}: ${JSON.stringify(source.sha512)} is not a SHA512`);
  const parts = [name, file, "sha512", source.sha512, file];
  if (isUrl(base)) {
    const root = base.endsWith("/") ? base : `${base}/`;
    const url = new URL(parts.map(encodeURIComponent).join("/"), root);
    if (!url.href.startsWith(new URL(root).href)) throw new LookasideError("SOURCE_UNSAFE", `${file} would be read outside the lookaside store`);
    return url.href;
  }
  const root = resolve(base);
  const path = join(root, ...parts);
  const rel = relative(root, path);
  if (rel.startsWith("..") || isAbsolute(rel)) throw new LookasideError("SOURCE_UNSAFE", `${file} would be read outside the lookaside store`);
  return path;
}

export interface FetchLookasideOptions {
  /** The store: a directory, or a file://, http:// or https:// URL. */
  base: string;
  /** Source package name (the store's first level). */
  name: string;
  sources: readonly LookasideSource[];
  /** Directory the files are written into (it exists). */
  dest: string;
  /** Per file; default 2 GiB. */
  maxBytes?: number;
  /** Per HTTP request; default 10 minutes. */
  timeoutMs?: number;
}

const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

async function readSource(location: string, options: FetchLookasideOptions, file: string): Promise<Buffer> {
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (isUrl(location) && !location.startsWith("file:")) {
    let res: Response;
    try {
      res = await fetch(location, { signal: AbortSignal.timeout(options.timeoutMs ?? 600_000) });
    } catch (err) {
      throw new LookasideError("LOOKASIDE_UNREACHABLE", `GET ${location}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (res.status === 404) throw new LookasideError("SOURCE_MISSING", `${file} is not in the lookaside store (${location}: 404)`);
    if (!res.ok) throw new LookasideError("LOOKASIDE_UNREACHABLE", `GET ${location}: ${res.status}`);
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > max) throw new LookasideError("SOURCE_TOO_LARGE", `${file} is ${length} bytes, more than ${max}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > max) throw new LookasideError("SOURCE_TOO_LARGE", `${file} is more than ${max} bytes`);
    return bytes;
  }
  const path = location.startsWith("file:") ? fileURLToPath(location) : location;
  try {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      if (size > max) throw new LookasideError("SOURCE_TOO_LARGE", `${file} is ${size} bytes, more than ${max}`);
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof LookasideError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new LookasideError("SOURCE_MISSING", `${file} is not in the lookaside store (${pathToFileURL(path).href})`);
    throw new LookasideError("LOOKASIDE_UNREACHABLE", `reading ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Fetch every source into `dest`, checking its SHA512 before writing it. A name that already
 * exists in `dest` (a file of the same name in git, even a symlink) is replaced, never written
 * through: the old entry is removed and the new file created exclusively.
 */
export async function fetchLookaside(options: FetchLookasideOptions): Promise<string[]> {
  const written: string[] = [];
  for (const source of options.sources) {
    const location = lookasideLocation(options.base, options.name, source);
    const bytes = await readSource(location, options, source.file);
    const actual = createHash("sha512").update(bytes).digest("hex");
    if (actual !== source.sha512) throw new LookasideError("SOURCE_MISMATCH", `${source.file} in the lookaside store has SHA512 ${actual.slice(0, 16)}…, the sources file says ${source.sha512.slice(0, 16)}…`);
    const target = join(options.dest, safeSourceName(source.file));
    await rm(target, { force: true, recursive: true });
    const handle = await open(target, "wx", 0o644);
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    written.push(target);
  }
  return written;
}

/**
 * `parseSourcesFile` of `<dir>/sources`, or no sources when there is no such file. The file
 * comes from the change: a symlink (to a host file we would then quote in an error) or
 * anything but a small regular file is refused.
 */
export async function readSourcesFile(dir: string): Promise<LookasideSource[]> {
  const path = join(dir, "sources");
  let text: string;
  try {
    const stat = await lstat(path);
    if (!stat.isFile()) throw new LookasideError("SOURCES_INVALID", "the sources file is not a regular file");
    if (stat.size > 1024 * 1024) throw new LookasideError("SOURCES_INVALID", `the sources file is ${stat.size} bytes`);
    text = await readFile(path, "utf8");
  } catch (err) {
    if (err instanceof LookasideError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new LookasideError("SOURCES_INVALID", `cannot read the sources file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return parseSourcesFile(text);
}
