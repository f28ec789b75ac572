// Small real disks for tests: a raw file (random bytes, so the vmdk does not compress away and a
// multipart upload has parts to send) converted by qemu-img, as the image builder does.
import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { runTool, type ToolEnv } from "@atomic-ci/tools";

export interface TestDiskOptions {
  /** Virtual size, MiB. */
  sizeMiB: number;
  /** MiB of random data at the start (the rest stays sparse). */
  randomMiB?: number;
  /** qemu-img vmdk subformat (default streamOptimized, what EC2 imports). */
  subformat?: "streamOptimized" | "monolithicSparse" | "monolithicFlat";
  /** Output format (default vmdk). */
  format?: "vmdk" | "qcow2";
}

export async function makeTestDisk(dir: string, name: string, options: TestDiskOptions, env: ToolEnv): Promise<string> {
  const raw = join(dir, `${name}.raw`);
  const handle = await open(raw, "w");
  try {
    await handle.truncate(options.sizeMiB * 1024 * 1024);
    for (let i = 0; i < (options.randomMiB ?? 0); i++) await handle.write(randomBytes(1024 * 1024), 0, 1024 * 1024, i * 1024 * 1024);
  } finally {
    await handle.close();
  }
  const format = options.format ?? "vmdk";
  const out = join(dir, `${name}.${format}`);
  const args = ["convert", "-f", "raw", "-O", format];
  if (format === "vmdk") args.push("-o", `adapter_type=lsilogic,subformat=${options.subformat ?? "streamOptimized"}`);
  await runTool("qemu-img", [...args, raw, out], { env, timeoutMs: 120_000 });
  return out;
}
