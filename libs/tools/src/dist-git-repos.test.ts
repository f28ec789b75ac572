// Dist-git repositories by package, against real git: a directory of clones, and mirrors of a
// "forge" reached by file:// URLs (present, absent) or an address nothing listens on.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirectoryDistGit, distGitRepos, MirroredDistGit } from "./dist-git-repos.js";
import { gitAdd, gitCommit, gitInit, gitShowFile } from "./git.js";
import { GitMirrorError } from "./git-mirror.js";
import type { ToolContext } from "./run.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } };
const author = { name: "T", email: "t@example.invalid", date: new Date("2026-01-01T00:00:00Z") };
let dir: string;
let forge: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dist-git-repos-"));
  forge = join(dir, "forge");
  const bash = join(forge, "bash");
  await mkdir(bash, { recursive: true });
  await gitInit(bash, { ...tools, branch: "f41" });
  await writeFile(join(bash, "bash.spec"), "Name: bash\n");
  await gitAdd(bash, tools);
  await gitCommit(bash, { ...tools, author, message: "spec\n" });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("DirectoryDistGit", () => {
  it("gives <dir>/<name> when it exists, undefined otherwise, and refuses names that are paths", async () => {
    const repos = new DirectoryDistGit(forge);
    expect(await repos.path("bash")).toBe(join(forge, "bash"));
    expect(await repos.path("zsh")).toBeUndefined();
    await expect(repos.path("../etc")).rejects.toThrow();
  });
});

describe("MirroredDistGit", () => {
  it("mirrors a package's repository on first use and says when the forge has none", async () => {
    let now = 0;
    const repos = new MirroredDistGit({ urlTemplate: `file://${forge}/{name}`, cacheDir: join(dir, "mirrors"), maxAgeMs: 60_000, tools, now: () => now });
    const bash = await repos.path("bash");
    expect(bash).toBeDefined();
    expect(await gitShowFile(bash ?? "", "f41", "bash.spec", tools)).toBe("Name: bash\n");
    expect(await repos.path("zsh")).toBeUndefined();

    // "None" is believed for maxAgeMs, then asked again: the repository may have been created.
    const zsh = join(forge, "zsh");
    await mkdir(zsh, { recursive: true });
    await gitInit(zsh, { ...tools, branch: "f41" });
    await writeFile(join(zsh, "zsh.spec"), "Name: zsh\n");
    await gitAdd(zsh, tools);
    await gitCommit(zsh, { ...tools, author, message: "spec\n" });
    expect(await repos.path("zsh")).toBeUndefined();
    now += 60_000;
    expect(await repos.path("zsh")).toBeDefined();
  });

  it("throws, not 'no repository', when the forge cannot be reached: the caller fails closed", async () => {
    const repos = new MirroredDistGit({ urlTemplate: "http://127.0.0.1:9/rpms/{name}.git", cacheDir: join(dir, "mirrors-down"), maxAgeMs: 60_000, tools: { ...tools, timeoutMs: 30_000 } });
    const err = await repos.path("bash").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitMirrorError);
    expect((err as GitMirrorError).absent).toBe(false);
  });

  it("refuses a template without {name} and a name that is not a package name", async () => {
    expect(() => new MirroredDistGit({ urlTemplate: "https://src.example.invalid/rpms/bash.git", cacheDir: dir, maxAgeMs: 1, tools })).toThrow(/has no \{name\}/);
    const repos = new MirroredDistGit({ urlTemplate: `file://${forge}/{name}`, cacheDir: join(dir, "m"), maxAgeMs: 1, tools });
    await expect(repos.path("--upload-pack=x")).rejects.toThrow();
  });
});

describe("distGitRepos", () => {
  it("prefers the URL template, else the directory, else none", () => {
    const common = { mirrorDir: join(dir, "m"), refreshSeconds: 60 };
    expect(distGitRepos({ ...common, url: "https://src.fedoraproject.org/rpms/{name}.git", dir: forge }, tools)).toBeInstanceOf(MirroredDistGit);
    expect(distGitRepos({ ...common, dir: forge }, tools)).toBeInstanceOf(DirectoryDistGit);
    expect(distGitRepos(common, tools)).toBeUndefined();
  });
});
