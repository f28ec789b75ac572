/**
 * A writer for the cpio "newc" format the kernel unpacks as an initramfs. Written here rather
 * than driving cpio(1) because an initramfs needs /dev/console as a device node (the kernel
 * opens it for /init's stdio before anything can mount devtmpfs), which cpio(1) could only
 * copy from a real node created with mknod — and because every field (owner, mtime, inode
 * numbers) must be fixed for the archive to be reproducible.
 */

export type CpioEntry =
  | { path: string; type: "file"; mode: number; data: Buffer }
  | { path: string; type: "dir"; mode: number }
  | { path: string; type: "symlink"; target: string }
  | { path: string; type: "char"; mode: number; major: number; minor: number };

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/** Archive entries in order (parents before children), all owned by root, all with `mtime`. */
export function writeCpio(entries: readonly CpioEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, "");
    if (!name || name.split("/").includes("..")) throw new Error(`cpio: bad path ${entry.path}`);
    const { mode, data, nlink, rdev } = describe(entry);
    parts.push(record(name, { ino: ino++, mode, nlink, mtime, rdev }, data));
  }
  parts.push(record("TRAILER!!!", { ino: 0, mode: 0, nlink: 1, mtime: 0, rdev: [0, 0] }, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function describe(entry: CpioEntry): { mode: number; data: Buffer; nlink: number; rdev: [number, number] } {
  switch (entry.type) {
    case "file":
      return { mode: S_IFREG | entry.mode, data: entry.data, nlink: 1, rdev: [0, 0] };
    case "dir":
      return { mode: S_IFDIR | entry.mode, data: Buffer.alloc(0), nlink: 2, rdev: [0, 0] };
    case "symlink":
      return { mode: S_IFLNK | 0o777, data: Buffer.from(entry.target), nlink: 1, rdev: [0, 0] };
    case "char":
      return { mode: S_IFCHR | entry.mode, data: Buffer.alloc(0), nlink: 1, rdev: [entry.major, entry.minor] };
  }
}

function record(
  name: string,
  h: { ino: number; mode: number; nlink: number; mtime: number; rdev: [number, number] },
  data: Buffer,
): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [h.ino, h.mode, 0, 0, h.nlink, h.mtime, data.length, 0, 0, h.rdev[0], h.rdev[1], nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, "0")).join("")}`, "ascii");
  // The name is padded so data starts on a 4-byte boundary; the data is padded likewise.
  return Buffer.concat([header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length)]);
}

function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
