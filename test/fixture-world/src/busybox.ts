import { open } from "node:fs/promises";
import { runTool, type ToolEnv } from "@atomic-ci/tools";

export interface BusyboxInfo {
  path: string;
  version: string;
  applets: string[];
}

export const DEFAULT_BUSYBOX_PATHS = ["/usr/bin/busybox", "/bin/busybox"];

/**
 * Find a *static* busybox: the composed tree has no real libc, so a dynamically linked one
 * (Debian's `busybox` package) could not run there. Debian's `busybox-static` is static.
 */
export async function findStaticBusybox(candidates: readonly string[]): Promise<string> {
  for (const path of candidates) {
    const kind = await elfKind(path);
    if (kind === "missing") continue;
    if (kind !== "static") {
      throw new Error(`${path} is ${kind === "dynamic" ? "dynamically linked" : "not an ELF executable"}: install busybox-static`);
    }
    return path;
  }
  throw new Error(`no busybox found at ${candidates.join(" or ")}: install busybox-static`);
}

/** Version and applet list, from the binary itself. */
export async function describeBusybox(path: string, env: ToolEnv): Promise<BusyboxInfo> {
  const help = await runTool(path, ["--help"], { env, timeoutMs: 10_000, okExitCodes: "any" });
  const version = /BusyBox v(\d+(?:\.\d+)+)/.exec(help.stdout + help.stderr)?.[1];
  if (!version) throw new Error(`${path}: cannot read the BusyBox version from --help`);
  const list = await runTool(path, ["--list"], { env, timeoutMs: 10_000 });
  const applets = list.stdout.split("\n").map((a) => a.trim()).filter((a) => a.length > 0).sort();
  return { path, version, applets };
}

/** Static or dynamic, from the ELF program headers: a PT_INTERP entry means a dynamic loader is needed. */
export async function elfKind(path: string): Promise<"missing" | "not-elf" | "static" | "dynamic"> {
  let file;
  try {
    file = await open(path, "r");
  } catch {
    return "missing";
  }
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return "not-elf"; // 64-bit little-endian only
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    await file.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return "dynamic";
    return "static";
  } finally {
    await file.close();
  }
}
