// The mirror against real git: a "remote" is a local repository reached by a file:// URL.
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitAdd, gitCommit, gitInit, gitRevParse, gitShowFile } from "./git.js";
import { GitMirror, GitMirrorError, isRemoteGitUrl, repositoryResolver } from "./git-mirror.js";
import type { ToolContext } from "./run.js";
import { onToolFinished, type ToolRun } from "./timing.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } };
const author = { name: "T", email: "t@example.invalid", date: new Date("2026-01-01T00:00:00Z") };
let dir: string;
let upstream: string;

async function commit(file: string, text: string): Promise<string> {
  await writeFile(join(upstream, file), text);
  await gitAdd(upstream, tools);
  return gitCommit(upstream, { ...tools, author, message: `${file}\n` });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "git-mirror-"));
  upstream = join(dir, "upstream");
  await gitInit(upstream, { ...tools, branch: "f41" });
  await commit("delivery.yaml", "streams: {}\n");
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("GitMirror", () => {
  it("clones on first read, fetches a new commit only once the copy is older than maxAgeMs", async () => {
    let now = 1_000_000;
    const mirror = new GitMirror({ url: `file://${upstream}`, cacheDir: join(dir, "cache"), maxAgeMs: 60_000, tools, now: () => now });
    const path = await mirror.path();
    expect(await gitShowFile(path, "f41", "delivery.yaml", tools)).toBe("streams: {}\n");

    const second = await commit("delivery.yaml", "streams: {stable: {}}\n");
    now += 59_000;
    expect(await gitRevParse(await mirror.path(), "f41", tools)).not.toBe(second);
    now += 1_000;
    expect(await gitRevParse(await mirror.path(), "f41", tools)).toBe(second);
    expect(mirror.lastError).toBeUndefined();
  });

  it("shares one fetch between concurrent reads", async () => {
    let now = 0;
    const mirror = new GitMirror({ url: `file://${upstream}`, cacheDir: join(dir, "cache-concurrent"), maxAgeMs: 1, tools, now: () => now });
    const runs: ToolRun[] = [];
    const stop = onToolFinished((run) => runs.push(run));
    try {
      const paths = await Promise.all([mirror.path(), mirror.path(), mirror.path()]);
      expect(new Set(paths).size).toBe(1);
      expect(runs.map((r) => r.args.find((a) => a === "clone" || a === "fetch"))).toEqual(["clone"]);
      now += 10;
      await Promise.all([mirror.path(), mirror.path()]);
      expect(runs.map((r) => r.args.find((a) => a === "clone" || a === "fetch"))).toEqual(["clone", "fetch"]);
    } finally {
      stop();
    }
  });

  it("keeps serving the last copy when the remote is gone, says why, and catches up when it is back", async () => {
    let now = 0;
    const mirror = new GitMirror({ url: `file://${upstream}`, cacheDir: join(dir, "cache-outage"), maxAgeMs: 1_000, tools, now: () => now });
    const before = await gitRevParse(await mirror.path(), "f41", tools);
    await rename(upstream, `${upstream}.away`);
    try {
      now += 1_000;
      expect(await gitRevParse(await mirror.path(), "f41", tools)).toBe(before);
      expect(mirror.lastError).toMatch(/^fetch of file:\/\/.* failed, serving the copy fetched at 1970-01-01T00:00:00.000Z: /);
    } finally {
      await rename(`${upstream}.away`, upstream);
    }
    const next = await commit("NOTES", "x\n");
    now += 500;
    // Not yet: a failed fetch waits maxAgeMs too.
    expect(await gitRevParse(await mirror.path(), "f41", tools)).toBe(before);
    now += 500;
    expect(await gitRevParse(await mirror.path(), "f41", tools)).toBe(next);
    expect(mirror.lastError).toBeUndefined();
  });

  it("fetches at once for a commit it does not have yet, whatever maxAgeMs says", async () => {
    const mirror = new GitMirror({ url: `file://${upstream}`, cacheDir: join(dir, "cache-rev"), maxAgeMs: 3_600_000, tools, now: () => 0 });
    await mirror.path();
    const fresh = await commit("NEW", "y\n");
    expect(await gitRevParse(await mirror.path(), "f41", tools)).not.toBe(fresh);
    expect(await gitRevParse(await mirror.pathWith(fresh), "f41", tools)).toBe(fresh);
    // A commit nobody has: the fetch happens, the path comes back, git's own error follows later.
    expect(await mirror.pathWith("0".repeat(40))).toBe(mirror.dir);
  });

  it("fails with GitMirrorError when there is no copy yet and the clone fails, and leaves no half clone", async () => {
    const mirror = new GitMirror({ url: `file://${join(dir, "nowhere")}`, cacheDir: join(dir, "cache-missing"), maxAgeMs: 1_000, tools });
    await expect(mirror.path()).rejects.toBeInstanceOf(GitMirrorError);
    await expect(mirror.path()).rejects.toThrow(/cannot clone file:\/\//);
  });

  it("refuses a URL that would be read as an option", () => {
    expect(() => new GitMirror({ url: "--upload-pack=touch /tmp/x", cacheDir: join(dir, "c"), maxAgeMs: 1, tools })).toThrow();
  });
});

describe("repositoryResolver", () => {
  it("uses a local path as it is and mirrors a remote URL", async () => {
    expect(await repositoryResolver(upstream, { cacheDir: join(dir, "r"), maxAgeMs: 1, tools }).path()).toBe(upstream);
    const remote = repositoryResolver("https://src.fedoraproject.org/atomic/host-definition.git", { cacheDir: join(dir, "r"), maxAgeMs: 1, tools });
    expect(remote.mirror?.dir).toMatch(/src\.fedoraproject\.org_atomic_host-definition\.git-[0-9a-f]{12}\.git$/);
  });

  it("tells remote URLs from local paths", () => {
    for (const url of ["https://src.fedoraproject.org/rpms/bash.git", "ssh://git@host/x.git", "git://host/x", "git@github.com:o/r.git"]) expect(isRemoteGitUrl(url), url).toBe(true);
    for (const path of ["/srv/git/host-definition", "relative/dir", "file:///srv/x"]) expect(isRemoteGitUrl(path), path).toBe(false);
  });
});
