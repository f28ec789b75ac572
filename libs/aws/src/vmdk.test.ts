import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestDisk } from "./testing/disks.js";
import { inspectStreamOptimized, parseVmdkHead, streamOptimizedProblem, VmdkFormatError } from "./vmdk.js";

let dir: string;
const env = { PATH: process.env["PATH"] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-vmdk-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("VMDK headers (files made by qemu-img)", () => {
  it("recognizes a streamOptimized VMDK: magic, createType, flags, deflate, capacity", async () => {
    const file = await makeTestDisk(dir, "so", { sizeMiB: 3, randomMiB: 1 }, env);
    const info = await inspectStreamOptimized(file);
    expect(info).toMatchObject({ createType: "streamOptimized", compressAlgorithm: 1, capacityBytes: 3 * 1024 * 1024, version: 3 });
    expect(info.descriptor).toContain('createType="streamOptimized"');
  });

  it("refuses a monolithicSparse VMDK, a qcow2 and a truncated header", async () => {
    const sparse = await makeTestDisk(dir, "ms", { sizeMiB: 2, subformat: "monolithicSparse" }, env);
    const info = parseVmdkHead(await readFile(sparse));
    expect(info.createType).toBe("monolithicSparse");
    expect(streamOptimizedProblem(info)).toBe('createType is "monolithicSparse", not "streamOptimized"');
    await expect(inspectStreamOptimized(sparse)).rejects.toThrow(/not a streamOptimized VMDK/);

    const qcow2 = await makeTestDisk(dir, "q", { sizeMiB: 2, format: "qcow2" }, env);
    await expect(inspectStreamOptimized(qcow2)).rejects.toThrow(/magic KDMV missing/);

    const short = join(dir, "short.vmdk");
    await writeFile(short, (await readFile(sparse)).subarray(0, 100));
    await expect(inspectStreamOptimized(short)).rejects.toBeInstanceOf(VmdkFormatError);
  });

  it("reports a descriptor beyond the bytes read", async () => {
    const file = await makeTestDisk(dir, "so2", { sizeMiB: 1 }, env);
    const head = (await readFile(file)).subarray(0, 600);
    expect(() => parseVmdkHead(head)).toThrow(/beyond the 600 bytes read/);
  });
});
