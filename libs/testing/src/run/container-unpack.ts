// Unpacking a verified image's layers into a root file system, as a container runtime's
// storage would: each layer's uncompressed tar is checked against its diff_id, entries are
// applied in order, whiteouts (`.wh.NAME`) delete what lower layers made and opaque markers
// (`.wh..wh..opq`) hide a directory's lower contents. Nothing is written outside the root: an
// entry named with `..` or an absolute path, one whose parent is a symbolic link (the classic
// `link -> /etc` then `link/passwd` escape) and a hard link to something outside are refused.
// Ownership is not kept (the sandbox maps the container user onto the runner's own uid),
// setuid/setgid bits are dropped, and device nodes and FIFOs are skipped (the sandbox has its
// own /dev).
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, link, lstat, mkdir, open, readdir, rm, symlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { ImageError, MEDIA, type VerifiedImage, type VerifiedLayer } from "./container-oci.js";

export interface UnpackLimits {
  /** Uncompressed bytes of all layers together (a gzip bomb stops here). */
  maxBytes: number;
  maxEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxBytes: 2 * 1024 * 1024 * 1024, maxEntries: 200_000 };

export interface UnpackReport {
  layers: number;
  entries: number;
  /** Uncompressed tar bytes. */
  bytes: number;
  whiteouts: number;
  /** Device nodes and FIFOs not created (first few). */
  skipped: string[];
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
const BLOCK = 512;

/** Unpack every layer of `image` into `rootfs` (created), using `scratch` for the uncompressed tars. */
export async function unpackImage(image: VerifiedImage, rootfs: string, scratch: string, limits: UnpackLimits = DEFAULT_UNPACK_LIMITS): Promise<UnpackReport> {
  await mkdir(rootfs, { recursive: true });
  await mkdir(scratch, { recursive: true });
  const report: UnpackReport = { layers: 0, entries: 0, bytes: 0, whiteouts: 0, skipped: [] };
  for (const [i, layer] of image.layers.entries()) {
    const label = `layer ${i + 1} (${layer.digest.slice(0, 19)})`;
    const tar = join(scratch, `layer-${i + 1}.tar`);
    try {
      report.bytes += await uncompress(layer, tar, limits.maxBytes - report.bytes, label);
      await applyTar(tar, rootfs, label, report, limits);
    } finally {
      await rm(tar, { force: true });
    }
    report.layers++;
  }
  return report;
}

/** The layer's tar, uncompressed to a file (at most `budget` bytes), checked against its diff_id. */
async function uncompress(layer: VerifiedLayer, tar: string, budget: number, label: string): Promise<number> {
  const hash = createHash("sha256");
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > budget) return done(new ImageError("unpack", `${label}: the image unpacks to more than the limit of uncompressed bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    if (layer.mediaType === MEDIA.layerGzip) await pipeline(createReadStream(layer.path), createGunzip(), count, createWriteStream(tar));
    else await pipeline(createReadStream(layer.path), count, createWriteStream(tar));
  } catch (err) {
    if (err instanceof ImageError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("Z_")) throw new ImageError("unpack", `${label}: not valid gzip (${(err as Error).message})`);
    throw err;
  }
  const diffId = `sha256:${hash.digest("hex")}`;
  if (diffId !== layer.diffId) throw new ImageError("unpack", `${label}: uncompressed content has digest ${diffId}, the config's diff_id is ${layer.diffId}`);
  return bytes;
}

interface Header {
  name: string;
  type: string;
  mode: number;
  size: number;
  linkname: string;
}

async function applyTar(tar: string, root: string, label: string, report: UnpackReport, limits: UnpackLimits): Promise<void> {
  const file = await open(tar, "r");
  try {
    const total = (await file.stat()).size;
    // Paths this layer made (and their ancestors): an opaque marker keeps them, removes the rest.
    const written = new Set<string>();
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    let offset = 0;
    while (offset + BLOCK <= total) {
      const block = await readAt(file, offset, BLOCK);
      if (block.every((b) => b === 0)) break;
      const header = parseHeader(block, `${label}: header at byte ${offset}`);
      const size = header.type === "x" || header.type === "L" || header.type === "K" || header.type === "g" ? header.size : pax["size"] !== undefined ? Number(pax["size"]) : header.size;
      if (!Number.isSafeInteger(size) || size < 0) throw new ImageError("unpack", `${label}: entry at byte ${offset} has an invalid size`);
      const data = offset + BLOCK;
      const next = data + Math.ceil(size / BLOCK) * BLOCK;
      if (data + size > total) throw new ImageError("unpack", `${label}: the archive is truncated`);
      offset = next;
      if (header.type === "x") {
        pax = { ...pax, ...parsePax(await readAt(file, data, size), label) };
        continue;
      }
      if (header.type === "g") continue; // global pax defaults: nothing we use (no global path is meaningful)
      if (header.type === "L" || header.type === "K") {
        const value = cString(await readAt(file, data, size));
        if (header.type === "L") longName = value;
        else longLink = value;
        continue;
      }
      const name = pax["path"] ?? longName ?? header.name;
      const linkname = pax["linkpath"] ?? longLink ?? header.linkname;
      pax = {};
      longName = longLink = undefined;
      if (++report.entries > limits.maxEntries) throw new ImageError("unpack", `${label}: more than ${limits.maxEntries} entries`);
      await applyEntry({ ...header, name, linkname, size }, { file, data, root, label, report, written });
    }
  } finally {
    await file.close();
  }
}

interface EntryContext {
  file: FileHandle;
  data: number;
  root: string;
  label: string;
  report: UnpackReport;
  written: Set<string>;
}

async function applyEntry(entry: Header, at: EntryContext): Promise<void> {
  const parts = confinedParts(entry.name, at.label, "entry");
  if (parts.length === 0) return; // the root itself
  const rel = parts.join("/");
  const base = parts[parts.length - 1] ?? "";
  const parentParts = parts.slice(0, -1);
  const what = `${at.label}: entry ${JSON.stringify(entry.name)}`;

  if (base === OPAQUE) {
    await ensureDirs(at.root, parentParts, at.written, what);
    await prune(join(at.root, ...parentParts), parentParts.join("/"), at.written);
    at.report.whiteouts++;
    return;
  }
  if (base.startsWith(WHITEOUT)) {
    const hidden = base.slice(WHITEOUT.length);
    if (hidden === "" || hidden === "." || hidden === "..") throw new ImageError("unpack", `${what}: not a valid whiteout`);
    // Nothing to hide when the parent is missing; never through a symlinked parent.
    await checkNoSymlinkParents(at.root, parentParts, what);
    const parent = await lstatOrNull(join(at.root, ...parentParts));
    if (parent?.isDirectory()) await rm(join(at.root, ...parentParts, hidden), { recursive: true, force: true });
    at.report.whiteouts++;
    return;
  }

  await ensureDirs(at.root, parentParts, at.written, what);
  const path = join(at.root, ...parts);
  const mode = entry.mode & 0o1777; // no setuid/setgid: nothing in the sandbox may gain privileges
  switch (entry.type) {
    case "5": {
      const existing = await lstatOrNull(path);
      if (!existing?.isDirectory()) {
        if (existing) await rm(path, { recursive: true, force: true });
        await mkdir(path);
      }
      await chmod(path, mode);
      break;
    }
    case "0":
    case "\0":
    case "7": {
      await rm(path, { recursive: true, force: true });
      // O_EXCL: never opens through a symlink that appeared in between.
      const out = await open(path, "wx", 0o600);
      try {
        for (let done = 0; done < entry.size; ) {
          const chunk = await readAt(at.file, at.data + done, Math.min(1024 * 1024, entry.size - done));
          await out.write(chunk);
          done += chunk.length;
        }
        await out.chmod(mode);
      } finally {
        await out.close();
      }
      break;
    }
    case "2": {
      if (entry.linkname === "") throw new ImageError("unpack", `${what}: symbolic link with an empty target`);
      await rm(path, { recursive: true, force: true });
      // The target is kept as written, absolute or not: it is resolved inside the container at run time.
      await symlink(entry.linkname, path);
      break;
    }
    case "1": {
      const targetParts = confinedParts(entry.linkname, at.label, `hard link ${JSON.stringify(entry.name)} ->`);
      await checkNoSymlinkParents(at.root, targetParts.slice(0, -1), `${what}: hard link target`);
      const target = join(at.root, ...targetParts);
      const info = await lstatOrNull(target);
      if (!info || !(info.isFile() || info.isSymbolicLink())) throw new ImageError("unpack", `${what}: hard link target ${JSON.stringify(entry.linkname)} is not a file of the image`);
      await rm(path, { recursive: true, force: true });
      await link(target, path);
      break;
    }
    case "3":
    case "4":
    case "6":
      if (at.report.skipped.length < 20) at.report.skipped.push(rel);
      return;
    default:
      throw new ImageError("unpack", `${what}: entry type ${JSON.stringify(entry.type)} is not supported`);
  }
  at.written.add(rel);
}

/** Path components of a tar name: relative, `.` and empty parts dropped, `..` refused. */
function confinedParts(name: string, label: string, what: string): string[] {
  if (name.startsWith("/")) throw new ImageError("unpack", `${label}: ${what} ${JSON.stringify(name)} is an absolute path; refused`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new ImageError("unpack", `${label}: ${what} ${JSON.stringify(name)} contains '..' and could leave the root; refused`);
  return parts;
}

/** Create missing parent directories; a parent that is a symlink (or not a directory) is refused. */
async function ensureDirs(root: string, parts: readonly string[], written: Set<string>, what: string): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    const rel = parts.slice(0, i + 1).join("/");
    const path = join(root, ...parts.slice(0, i + 1));
    const info = await lstatOrNull(path);
    if (!info) await mkdir(path, 0o755);
    else if (info.isSymbolicLink()) throw new ImageError("unpack", `${what}: parent ${JSON.stringify(rel)} is a symbolic link; writing through it could leave the root, refused`);
    else if (!info.isDirectory()) throw new ImageError("unpack", `${what}: parent ${JSON.stringify(rel)} is not a directory`);
    written.add(rel);
  }
}

async function checkNoSymlinkParents(root: string, parts: readonly string[], what: string): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    const info = await lstatOrNull(join(root, ...parts.slice(0, i + 1)));
    if (info?.isSymbolicLink()) throw new ImageError("unpack", `${what}: ${JSON.stringify(parts.slice(0, i + 1).join("/"))} is a symbolic link; refused`);
  }
}

/** An opaque directory: everything lower layers put in it goes, what this layer wrote stays. */
async function prune(dir: string, rel: string, written: ReadonlySet<string>): Promise<void> {
  for (const name of await readdir(dir)) {
    const childRel = rel === "" ? name : `${rel}/${name}`;
    const child = join(dir, name);
    if (!written.has(childRel)) await rm(child, { recursive: true, force: true });
    else if ((await lstat(child)).isDirectory()) await prune(child, childRel, written);
  }
}

function parseHeader(block: Buffer, where: string): Header {
  const stored = number(block, 148, 8, where);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) throw new ImageError("unpack", `${where}: bad header checksum (not a tar archive, or corrupt)`);
  const posix = block.toString("latin1", 257, 263) === "ustar\0";
  const name = cString(block.subarray(0, 100));
  const prefix = posix ? cString(block.subarray(345, 500)) : "";
  return {
    name: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(block[156] ?? 0),
    mode: number(block, 100, 8, where),
    size: number(block, 124, 12, where),
    linkname: cString(block.subarray(157, 257)),
  };
}

/** Octal, or GNU's base-256 for large values (high bit set). */
function number(block: Buffer, offset: number, length: number, where: string): number {
  const field = block.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = field.toString("latin1").replace(/[\0 ]+$/, "").replace(/^[ ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new ImageError("unpack", `${where}: invalid numeric field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.toString("utf8", 0, end < 0 ? bytes.length : end);
}

/** pax records `LEN key=value\n`, LEN counting bytes of the whole record. */
function parsePax(data: Buffer, label: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    const length = Number(data.toString("latin1", pos, space));
    if (space < 0 || !Number.isInteger(length) || length <= space - pos || pos + length > data.length) throw new ImageError("unpack", `${label}: malformed pax header`);
    const record = data.toString("utf8", space + 1, pos + length - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return out;
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
