import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isToolError } from "./errors.js";
import { gitAdd, gitCommit, gitCommitFiles, gitInit, gitLog, gitPatch, gitRevParse, gitShowFile } from "./git.js";

const ctx = { env: { PATH: process.env["PATH"] } };
const root = mkdtempSync(join(tmpdir(), "tools-git-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const author = { name: "Fixture Packager", email: "packager@fixture.invalid", date: new Date("2024-10-29T12:00:00Z") };

async function twoCommitRepo(name: string): Promise<{ dir: string; first: string; second: string }> {
  const dir = join(root, name);
  await gitInit(dir, { ...ctx, branch: "f41" });
  mkdirSync(join(dir, "tests"), { recursive: true });
  writeFileSync(join(dir, "pkg.spec"), "Version: 1\n");
  writeFileSync(join(dir, "tests", "smoke.sh"), "#!/bin/sh\necho ok\n");
  await gitAdd(dir, ctx);
  const first = await gitCommit(dir, { ...ctx, message: "Initial import (1)\n", author });
  writeFileSync(join(dir, "pkg.spec"), "Version: 2\nRelease: 1\n");
  await gitAdd(dir, ctx);
  const second = await gitCommit(dir, {
    ...ctx,
    message: "Update to 2\n\nDepends-On: https://dist-git.fixture.invalid/rpms/other/c/abc\n",
    author: { ...author, date: new Date("2024-11-05T08:30:00Z") },
  });
  return { dir, first, second };
}

describe("git wrappers", () => {
  it("gives the same commit ids for the same content, author and dates", async () => {
    const a = await twoCommitRepo("a");
    const b = await twoCommitRepo("b");
    expect(a.first).toMatch(/^[0-9a-f]{40}$/);
    expect(a.second).not.toBe(a.first);
    expect(b).toMatchObject({ first: a.first, second: a.second });
  });

  it("reads a file as it was at a revision", async () => {
    const { dir, first } = await twoCommitRepo("show");
    expect(await gitShowFile(dir, first, "pkg.spec", ctx)).toBe("Version: 1\n");
    expect(await gitShowFile(dir, "HEAD", "pkg.spec", ctx)).toBe("Version: 2\nRelease: 1\n");
    expect(await gitShowFile(dir, "f41~1", "tests/smoke.sh", ctx)).toContain("echo ok");
  });

  it("resolves revisions and fails for unknown ones", async () => {
    const { dir, first, second } = await twoCommitRepo("revparse");
    expect(await gitRevParse(dir, "HEAD", ctx)).toBe(second);
    expect(await gitRevParse(dir, "HEAD~1", ctx)).toBe(first);
    const err: unknown = await gitRevParse(dir, "no-such-branch", ctx).catch((e: unknown) => e);
    expect(isToolError(err, "TOOL_FAILED")).toBe(true);
  });

  it("lists history newest first with dates, parents and full messages", async () => {
    const { dir, first, second } = await twoCommitRepo("log");
    const log = await gitLog(dir, ctx);
    expect(log.map((entry) => entry.commit)).toEqual([second, first]);
    expect(log[0]).toMatchObject({
      parents: [first],
      subject: "Update to 2",
      author: { name: "Fixture Packager", email: "packager@fixture.invalid", date: "2024-11-05T08:30:00+00:00" },
    });
    expect(log[0]?.message).toContain("Depends-On: https://dist-git.fixture.invalid/rpms/other/c/abc");
    expect(log[1]?.parents).toEqual([]);
    expect(await gitLog(dir, { ...ctx, maxCount: 1 })).toHaveLength(1);
  });

  it("counts the lines each commit touched, the root commit included", async () => {
    const { dir, first, second } = await twoCommitRepo("stats");
    expect(await gitCommitFiles(dir, first, ctx)).toEqual([
      { path: "pkg.spec", additions: 1, deletions: 0 },
      { path: "tests/smoke.sh", additions: 2, deletions: 0 },
    ]);
    expect(await gitCommitFiles(dir, second, ctx)).toEqual([{ path: "pkg.spec", additions: 2, deletions: 1 }]);
    expect(await gitPatch(dir, second, ctx)).toContain("+Release: 1");
  });
});
