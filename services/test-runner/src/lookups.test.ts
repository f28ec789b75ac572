// What the lookups save, counted in real git runs: a build's commit is searched once per branch
// head, a package's tests at a commit are discovered once.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitAdd, gitCommit, gitInit, onToolFinished, type ToolContext } from "@atomic-ci/tools";
import { DistGitLookups } from "./lookups.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } };
const author = { name: "T", email: "t@example.invalid", date: new Date("2026-01-01T00:00:00Z") };
const sti = "- hosts: localhost\n  tags: [atomic]\n  roles:\n    - role: standard-test-basic\n      tests:\n        - smoke:\n            dir: .\n            run: ./smoke.sh\n";
let dir: string;
let repo: string;

async function commit(files: Record<string, string>): Promise<string> {
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(repo, file)), { recursive: true });
    await writeFile(join(repo, file), text);
  }
  await gitAdd(repo, tools);
  return gitCommit(repo, { ...tools, author, message: "x\n" });
}

async function gitRuns<T>(f: () => Promise<T>): Promise<{ value: T; runs: number }> {
  let runs = 0;
  const stop = onToolFinished((run) => {
    if (run.tool === "git") runs++;
  });
  try {
    return { value: await f(), runs };
  } finally {
    stop();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "test-runner-lookups-"));
  repo = join(dir, "foo");
  await gitInit(repo, { ...tools, branch: "f41" });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("DistGitLookups", () => {
  it("searches a build's commit once per branch head, and again when the branch moves", async () => {
    const built = await commit({ "foo.spec": "Name: foo\nVersion: 1.0\nRelease: 1%{?dist}\n", "tests/tests.yml": sti });
    const later = await commit({ "README": "docs\n" });
    const lookups = new DistGitLookups(tools, "f41");
    const build = { name: "foo", version: "1.0", release: "1.fc41" };
    const first = await gitRuns(() => lookups.buildCommit(repo, build));
    expect(first.value).toBe(later); // the newest state of that release
    const again = await gitRuns(() => lookups.buildCommit(repo, build));
    expect(again).toEqual({ value: later, runs: 1 }); // rev-parse of the branch only
    expect(first.runs).toBeGreaterThan(again.runs);

    const bumped = await commit({ "foo.spec": "Name: foo\nVersion: 1.0\nRelease: 2%{?dist}\n" });
    expect(await lookups.buildCommit(repo, build)).toBe(later);
    expect(await lookups.buildCommit(repo, { ...build, release: "2.fc41" })).toBe(bumped);
    expect(built).not.toBe(later);
  });

  it("discovers a package's tests at a commit once", async () => {
    const at = await commit({ "tests/tests.yml": sti.replace("smoke", "smoke2") });
    const lookups = new DistGitLookups(tools, "f41");
    const first = await gitRuns(() => lookups.discover({ repo, rev: at, package: "foo" }));
    expect(first.value.tests.map((t) => t.name)).toEqual(["smoke2"]);
    expect(first.runs).toBeGreaterThan(0);
    const again = await gitRuns(() => lookups.discover({ repo, rev: at, package: "foo" }));
    expect(again.runs).toBe(0);
    expect(again.value).toBe(first.value);
  });

  it("does not keep a discovery that failed", async () => {
    const lookups = new DistGitLookups(tools, "f41");
    await expect(lookups.discover({ repo, rev: "0".repeat(40), package: "foo" })).rejects.toThrow();
    const retry = await gitRuns(() => lookups.discover({ repo, rev: "0".repeat(40), package: "foo" }).catch(() => undefined));
    expect(retry.runs).toBeGreaterThan(0);
  });
});
