// Reading a VMDK's sparse extent header and embedded descriptor (VMware's "Virtual Disk Format
// 5.0" spec): enough to tell a streamOptimized disk - the only VMDK subformat EC2's
// ImportSnapshot takes - from anything else, before uploading it and in the EC2 stand-in.
import { open } from "node:fs/promises";

/** "KDMV" read as a little-endian uint32. */
export const VMDK_MAGIC = 0x564d444b;
const SECTOR = 512;
/** Header + a descriptor of the usual size (qemu-img: offset 1, 20 sectors) fit well in this. */
export const VMDK_HEAD_BYTES = 64 * 1024;
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;

export interface VmdkInfo {
  version: number;
  flags: number;
  /** Virtual disk size, bytes. */
  capacityBytes: number;
  grainSectors: number;
  compressAlgorithm: number;
  /** `createType` of the embedded descriptor ("streamOptimized", "monolithicSparse", ...). */
  createType: string | undefined;
  descriptor: string;
}

export class VmdkFormatError extends Error {
  override readonly name = "VmdkFormatError";
  readonly code = "VMDK_INVALID";
}

/** Parses the first bytes of a VMDK (at least the header and its embedded descriptor). */
export function parseVmdkHead(head: Uint8Array): VmdkInfo {
  const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (buf.length < SECTOR) throw new VmdkFormatError(`too short for a VMDK header (${buf.length} bytes)`);
  if (buf.readUInt32LE(0) !== VMDK_MAGIC) throw new VmdkFormatError("no VMDK sparse extent header (magic KDMV missing)");
  const u64 = (offset: number, what: string) => {
    const v = buf.readBigUInt64LE(offset);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new VmdkFormatError(`${what} out of range`);
    return Number(v);
  };
  const version = buf.readUInt32LE(4);
  const flags = buf.readUInt32LE(8);
  const capacity = u64(12, "capacity");
  const grainSectors = u64(20, "grain size");
  const descriptorOffset = u64(28, "descriptor offset");
  const descriptorSize = u64(36, "descriptor size");
  const compressAlgorithm = buf.readUInt16LE(77);
  let descriptor = "";
  if (descriptorOffset > 0 && descriptorSize > 0) {
    const start = descriptorOffset * SECTOR;
    const end = start + descriptorSize * SECTOR;
    if (end > buf.length) throw new VmdkFormatError(`the embedded descriptor (bytes ${start}-${end}) is beyond the ${buf.length} bytes read`);
    const raw = buf.subarray(start, end);
    const nul = raw.indexOf(0);
    descriptor = raw.subarray(0, nul === -1 ? raw.length : nul).toString("latin1");
  }
  const createType = /^\s*createType\s*=\s*"([^"]*)"/m.exec(descriptor)?.[1];
  return { version, flags, capacityBytes: capacity * SECTOR, grainSectors, compressAlgorithm, createType, descriptor };
}

/** Why a VMDK is not streamOptimized, or undefined when it is. */
export function streamOptimizedProblem(info: VmdkInfo): string | undefined {
  if (info.createType !== "streamOptimized") return `createType is ${info.createType === undefined ? "missing" : `"${info.createType}"`}, not "streamOptimized"`;
  if ((info.flags & FLAG_COMPRESSED) === 0 || (info.flags & FLAG_MARKERS) === 0) return "header flags lack compressed grains and markers";
  if (info.compressAlgorithm !== 1) return `compressAlgorithm ${info.compressAlgorithm}, not 1 (deflate)`;
  if (info.capacityBytes === 0) return "capacity is 0";
  return undefined;
}

/** Reads a file's VMDK head; throws VmdkFormatError unless it is a streamOptimized VMDK. */
export async function inspectStreamOptimized(path: string): Promise<VmdkInfo> {
  const handle = await open(path, "r");
  let head: Buffer;
  try {
    const buf = Buffer.alloc(VMDK_HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const info = parseVmdkHead(head);
  const problem = streamOptimizedProblem(info);
  if (problem) throw new VmdkFormatError(`${path}: not a streamOptimized VMDK: ${problem}`);
  return info;
}
