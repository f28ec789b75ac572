// Helpers for the test-runner tests: the fixture world composed into an ostree repository
// (once per file), and a scratch dist-git repository whose tests probe the sandbox.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { compose, type Composed, type ComposeOptions } from "@atomic-ci/compose";
import { gitAdd, gitCommit, gitInit } from "@atomic-ci/tools";
import type { FixtureWorld } from "../fixture-world/src/index.js";
import { ctx, nevrasOf } from "../compose/support.js";

export { cleanup, ctx, scratch } from "../compose/support.js";

/** Compose the world's host definition, optionally with candidate builds (NVRs) added. */
export async function composeWorld(world: FixtureWorld, repo: string, workDir: string, candidates: string[] = []): Promise<Composed> {
  const options: ComposeOptions = { treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir, changeSetId: candidates.join("+") || "stable" };
  if (candidates.length > 0) options.candidates = { repo: world.repos.candidates, nevras: candidates.flatMap((nvr) => nevrasOf(world, nvr)) };
  const result = await compose(options, ctx);
  if (result.type !== "composed") throw new Error(`compose failed: ${JSON.stringify(result)}`);
  return result;
}

const author = { name: "Test Author", email: "author@fixture.invalid", date: new Date("2024-11-01T00:00:00Z") };

/** A git repository with one commit per entry of `versions` (path → content); returns the commits. */
export async function distGit(dir: string, versions: Record<string, string>[]): Promise<string[]> {
  await gitInit(dir, { ...ctx, branch: "f41" });
  const commits: string[] = [];
  for (const [i, files] of versions.entries()) {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content, { mode: path.endsWith(".sh") ? 0o755 : 0o644 });
    }
    await gitAdd(dir, ctx);
    commits.push(await gitCommit(dir, { ...ctx, author: { ...author, date: new Date(author.date.getTime() + i * 1000) }, message: `version ${i + 1}\n` }));
  }
  return commits;
}

export const TMT_PLAN = { ".fmf/version": "1\n", "plans/all.fmf": "discover:\n  how: fmf\nexecute:\n  how: tmt\n" };
