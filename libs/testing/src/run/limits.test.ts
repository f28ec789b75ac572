import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pidsLimiter } from "./limits.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function fakeCgroupFs(layout: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "limits-"));
  dirs.push(root);
  for (const [path, content] of Object.entries(layout)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

describe("choosing the process limit", () => {
  it("falls back past hierarchies it cannot use, saying why, to prlimit, or to nothing when told", async () => {
    // A plain directory pretending to be cgroup v2 with pids: a child made there has no pids.max.
    const fs = await fakeCgroupFs({ "cgroup.controllers": "cpu pids\n", "cgroup.subtree_control": "" });
    const v2 = await pidsLimiter({ cgroupFs: fs, mode: "cgroup-v2", pidsMax: 64 });
    expect(v2).toMatchObject({ kind: "none", pidsMax: 64 });
    expect(v2.kind === "none" ? v2.why : "").toMatch(/no pids\.max in a child cgroup/);
    const noPids = await fakeCgroupFs({ "unified/cgroup.controllers": "hugetlb\n" });
    const why = await pidsLimiter({ cgroupFs: noPids, mode: "cgroup-v2" });
    expect(why.kind === "none" ? why.why : "").toMatch(/cgroup v2 without the pids controller/);
    expect(await pidsLimiter({ cgroupFs: noPids, mode: "auto", pidsMax: 32 })).toEqual({ kind: "rlimit", pidsMax: 32 });
    expect(await pidsLimiter({ mode: "none" })).toMatchObject({ kind: "none", why: "turned off" });
    await expect(pidsLimiter({ pidsMax: 0 })).rejects.toThrow(/pidsMax must be a positive integer/);
  });

  it("uses the machine's cgroup v1 pids hierarchy when it is writable (here: root)", async () => {
    const found = await pidsLimiter();
    expect(["cgroup-v1", "cgroup-v2", "rlimit"]).toContain(found.kind);
    expect(found.pidsMax).toBe(256);
  });
});
