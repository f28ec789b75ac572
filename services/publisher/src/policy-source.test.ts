// The delivery policy read with real git: from a local repository, and from the mirror of a
// "remote" (a file:// URL) that is fetched when stale.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitAdd, gitCommit, gitInit, GitMirror, type ToolContext } from "@atomic-ci/tools";
import { GitPolicySource } from "./policy-source.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } };
const author = { name: "T", email: "t@example.invalid", date: new Date("2026-01-01T00:00:00Z") };
let dir: string;
let upstream: string;

async function commitPolicy(text: string): Promise<string> {
  await writeFile(join(upstream, "delivery.yaml"), text);
  await gitAdd(upstream, tools);
  return gitCommit(upstream, { ...tools, author, message: "policy\n" });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "policy-source-"));
  upstream = join(dir, "definition");
  await gitInit(upstream, { ...tools, branch: "f41" });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("GitPolicySource", () => {
  it("reads the branch's policy, keeps the last good one over an invalid commit, and takes the fix", async () => {
    const first = await commitPolicy("streams:\n  testing: {}\n");
    const source = new GitPolicySource({ repo: upstream, branch: "f41", path: "delivery.yaml" }, tools);
    const loaded = await source.load();
    expect(loaded).toMatchObject({ rev: first, changed: true });
    expect(Object.keys(loaded.policy?.streams ?? {})).toEqual(["testing"]);
    expect(await source.load()).toMatchObject({ rev: first, changed: false });

    await commitPolicy("streams:\n  testing: {from: nowhere}\n");
    const bad = await source.load();
    expect(bad).toMatchObject({ rev: first, changed: false });
    expect(bad.error).toMatch(/delivery\.yaml at f41/);

    const fixed = await commitPolicy("streams:\n  testing: {}\n  stable: {from: testing}\n");
    expect(await source.load()).toMatchObject({ rev: fixed, changed: true });
  });

  it("reads a remote repository through its mirror, seeing a new commit once the mirror is stale", async () => {
    let now = 0;
    const mirror = new GitMirror({ url: `file://${upstream}`, cacheDir: join(dir, "mirrors"), maxAgeMs: 60_000, tools, now: () => now });
    const source = new GitPolicySource({ repo: "https://git.example.invalid/host-definition.git", branch: "f41", path: "delivery.yaml", resolver: { path: () => mirror.path(), mirror } }, tools);
    const before = await source.load();
    expect(Object.keys(before.policy?.streams ?? {})).toEqual(["testing", "stable"]);

    const freeze = await commitPolicy("streams:\n  testing: {}\n  stable: {from: testing}\nfreezes:\n  - {start: \"2026-12-20T00:00:00Z\", end: \"2027-01-04T00:00:00Z\", reason: holidays}\n");
    expect((await source.load()).rev).toBe(before.rev);
    now += 60_000;
    const after = await source.load();
    expect(after).toMatchObject({ rev: freeze, changed: true });
    expect(after.policy?.freezes.map((f) => f.reason)).toEqual(["holidays"]);
  });

  it("says which repository cannot be read, by its configured name", async () => {
    const mirror = new GitMirror({ url: `file://${join(dir, "gone")}`, cacheDir: join(dir, "mirrors"), maxAgeMs: 60_000, tools });
    const source = new GitPolicySource({ repo: "https://git.example.invalid/gone.git", branch: "f41", path: "delivery.yaml", resolver: { path: () => mirror.path(), mirror } }, tools);
    const loaded = await source.load();
    expect(loaded.policy).toBeUndefined();
    expect(loaded.error).toMatch(/^cannot read branch f41 of https:\/\/git\.example\.invalid\/gone\.git: cannot clone/);
  });
});
