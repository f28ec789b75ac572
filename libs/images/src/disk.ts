// A raw disk from the sysroot without root or loop devices: each partition is an ext4 image
// filled by `mkfs.ext4 -d`, the GPT is written by sfdisk on a plain file, and the partition
// images are copied in at their offsets (Node file writes, the equivalent of
// `dd conv=notrunc seek=`), skipping all-zero blocks so the disk stays sparse.
import { lstat, open, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ToolContext } from "@atomic-ci/tools";
import { run, uuidFrom } from "./tools.js";

const MiB = 1024 * 1024;
const SECTOR = 512;
/** First partition at 1 MiB; the backup GPT needs 33 sectors at the end, so 1 MiB is left there too. */
const ALIGN = MiB;

/** GPT partition type GUIDs (the Discoverable Partitions Specification). */
export const LINUX_FILESYSTEM_GUID = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
export const LINUX_ROOT_X86_64_GUID = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

export interface PartitionSpec {
  /** GPT partition name and filesystem label. */
  label: string;
  /** Directory whose content fills the filesystem. */
  dir: string;
  typeGuid: string;
}

export interface PlacedPartition {
  label: string;
  /** Byte offset and size on the disk. */
  offset: number;
  size: number;
  uuid: string;
}

export interface RawDisk {
  path: string;
  size: number;
  partitions: PlacedPartition[];
}

/** Bytes a directory's content takes on disk (hard links once), plus its inode count. */
async function usage(dir: string, ctx: ToolContext): Promise<{ bytes: number; inodes: number }> {
  const du = await run("du", ["-s", "--block-size=1", dir], ctx);
  const inodes = await run("du", ["-s", "--inodes", dir], ctx);
  return { bytes: Number(du.stdout.split(/\s/)[0]), inodes: Number(inodes.stdout.split(/\s/)[0]) };
}

/** The filesystem size for `bytes` of content: +25% and room for metadata and the journal, in whole MiB. */
export function filesystemSize(bytes: number, inodes: number): number {
  const journal = bytes < 256 * MiB ? 16 * MiB : 64 * MiB;
  const raw = bytes * 1.25 + inodes * 512 + journal + 16 * MiB;
  return Math.ceil(raw / MiB) * MiB;
}

/**
 * `mkfs.ext4 -d DIR -L LABEL FILE`; the UUID and directory hash seed derive from `seed`
 * so the same content gives the same filesystem ids. A full filesystem is retried bigger.
 */
export async function makeExt4(file: string, spec: PartitionSpec, seed: string, ctx: ToolContext): Promise<{ size: number; uuid: string }> {
  const { bytes, inodes } = await usage(spec.dir, ctx);
  let size = filesystemSize(bytes, inodes);
  const uuid = uuidFrom(`${seed}:${spec.label}:fs`);
  for (let attempt = 0; ; attempt++) {
    await rm(file, { force: true });
    await (await open(file, "w")).close();
    await truncate(file, size);
    try {
      await run(
        "mkfs.ext4",
        ["-q", "-F", "-b", "4096", "-L", spec.label, "-U", uuid, "-E", `root_owner=0:0,hash_seed=${uuidFrom(`${seed}:${spec.label}:hash`)}`, "-d", spec.dir, file],
        ctx,
      );
    } catch (err) {
      if (attempt >= 2) throw err;
      size = Math.ceil((size * 1.5) / MiB) * MiB;
      continue;
    }
    await chownToRoot(file, spec.dir, ctx);
    return { size, uuid };
  }
}

/** A path `debugfs` can take as one argument: quoted, so no quote, backslash or control character inside. */
function debugfsSafe(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

/**
 * `mkfs.ext4 -d` records each file's owner as it is on this machine: run as a non-root user,
 * every file of the image would belong to the builder. The image's content is root's (the
 * sysroot's repository is bare-user-only: ownership is not kept, a root build checks out
 * everything as 0:0), so every inode owned otherwise is set to uid 0 / gid 0 inside the
 * filesystem with one `debugfs -w` script. A root build finds nothing to change.
 */
export async function chownToRoot(file: string, dir: string, ctx: ToolContext): Promise<number> {
  const commands: string[] = [];
  const seen = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = `${rel}/${entry.name}`;
      const st = await lstat(join(dir, path));
      const inode = `${st.dev}:${st.ino}`;
      if (!seen.has(inode)) {
        seen.add(inode);
        if (st.uid !== 0 || st.gid !== 0) {
          if (!debugfsSafe(path)) throw new Error(`cannot set the owner of ${JSON.stringify(path)} in ${file}: unsupported characters in the name`);
          if (st.uid !== 0) commands.push(`sif "${path}" uid 0`);
          if (st.gid !== 0) commands.push(`sif "${path}" gid 0`);
        }
      }
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk("");
  if (commands.length === 0) return 0;
  const script = `${file}.chown.debugfs`;
  await writeFile(script, `${commands.join("\n")}\n`);
  try {
    const out = await run("debugfs", ["-w", "-f", script, file], ctx);
    // debugfs reports a failed request on stderr and still exits 0.
    const failed = out.stderr.split("\n").find((line) => /^sif:|File not found|not found by ext2_lookup/.test(line));
    if (failed) throw new Error(`debugfs could not set an owner in ${file}: ${failed}`);
  } finally {
    await rm(script, { force: true });
  }
  return commands.length;
}

/** Copy `src` into `fd` at `offset`, leaving all-zero 1 MiB blocks as holes. */
async function place(fd: Awaited<ReturnType<typeof open>>, src: string, offset: number): Promise<void> {
  const input = await open(src, "r");
  try {
    const buf = Buffer.alloc(MiB);
    for (let pos = 0; ; pos += MiB) {
      const { bytesRead } = await input.read(buf, 0, MiB, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.some((b) => b !== 0)) await fd.write(chunk, 0, bytesRead, offset + pos);
    }
  } finally {
    await input.close();
  }
}

/**
 * A GPT disk at `path` holding one ext4 filesystem per spec, in order. `workPrefix` names the
 * partition image files (removed afterwards).
 */
export async function makeRawDisk(path: string, specs: readonly PartitionSpec[], seed: string, workPrefix: string, ctx: ToolContext): Promise<RawDisk> {
  const images = await Promise.all(specs.map(async (spec, i) => ({ spec, file: `${workPrefix}-p${i + 1}.ext4`, ...(await makeExt4(`${workPrefix}-p${i + 1}.ext4`, spec, seed, ctx)) })));
  const partitions: PlacedPartition[] = [];
  let offset = ALIGN;
  for (const image of images) {
    partitions.push({ label: image.spec.label, offset, size: image.size, uuid: image.uuid });
    offset += image.size;
  }
  const size = offset + ALIGN;
  await rm(path, { force: true });
  await (await open(path, "w")).close();
  await truncate(path, size);

  const script = [
    "label: gpt",
    `label-id: ${uuidFrom(`${seed}:disk`).toUpperCase()}`,
    "unit: sectors",
    ...images.map(
      (image, i) =>
        `start=${(partitions[i]?.offset ?? 0) / SECTOR}, size=${image.size / SECTOR}, type=${image.spec.typeGuid}, uuid=${uuidFrom(`${seed}:${image.spec.label}:part`).toUpperCase()}, name="${image.spec.label}"`,
    ),
    "",
  ].join("\n");
  await run("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", path], ctx, script);

  const fd = await open(path, "r+");
  try {
    for (const [i, image] of images.entries()) await place(fd, image.file, partitions[i]?.offset ?? 0);
  } finally {
    await fd.close();
  }
  await Promise.all(images.map((image) => rm(image.file, { force: true })));
  return { path, size, partitions };
}
