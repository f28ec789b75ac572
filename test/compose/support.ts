// Helpers for the compose tests: a private copy of the fixture world's host definition (so a
// test can edit it), ostree queries, and a tool context.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ToolContext } from "@atomic-ci/tools";
import type { World } from "../fixture-world/src/index.js";

const run = promisify(execFile);

export const ctx: ToolContext = { env: process.env };

const made: string[] = [];

export async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `atomic-ci-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Remove every scratch directory made so far (afterAll). */
export async function cleanup(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A copy of the host definition in `dir`, with the treefile path inside it. */
export async function copyDefinition(world: World, dir: string): Promise<{ dir: string; treefile: string }> {
  const target = join(dir, "definition");
  await cp(world.hostDefinition.path, target, { recursive: true, filter: (src) => !src.includes("/.git") });
  return { dir: target, treefile: join(target, "fedora-atomic-host.yaml") };
}

export async function appendTo(path: string, text: string): Promise<void> {
  await writeFile(path, `${await readFile(path, "utf8")}${text}`);
}

export async function ostree(repo: string, ...args: string[]): Promise<string> {
  const [sub = "", ...rest] = args;
  const { stdout } = await run("ostree", [sub, `--repo=${repo}`, ...rest]);
  return stdout.trim();
}

export async function metadataKey(repo: string, commit: string, key: string): Promise<string> {
  return ostree(repo, "show", `--print-metadata-key=${key}`, commit);
}

/** The NEVRAs of a build's RPMs in the fixture world. */
export function nevrasOf(world: World, nvr: string): string[] {
  const build = world.builds.find((b) => b.nvr === nvr);
  if (!build) throw new Error(`no build ${nvr}`);
  return build.rpms.map((r) => r.nevra);
}
