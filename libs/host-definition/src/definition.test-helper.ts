import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DefinitionError, type DefinitionIssue } from "./errors.js";

/** A file to create: its text, or a symlink to a target. */
export type FixtureFile = string | { symlink: string };

const created: string[] = [];

/** Write files into a fresh temporary directory; returns its path. */
export async function makeDir(files: Readonly<Record<string, FixtureFile>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "atomic-ci-host-definition-"));
  created.push(dir);
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof content === "string") await writeFile(path, content);
    else await symlink(content.symlink, path);
  }
  return dir;
}

/** Remove every directory makeDir created (call from afterEach). */
export async function removeDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** The issues of the DefinitionError a promise rejects with. */
export async function rejectedIssues(promise: Promise<unknown>): Promise<DefinitionIssue[]> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DefinitionError) return [...err.issues];
    throw err;
  }
  throw new Error("expected a DefinitionError");
}

/** The issues of the DefinitionError a function throws. */
export function thrownIssues(fn: () => unknown): DefinitionIssue[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof DefinitionError) return [...err.issues];
    throw err;
  }
  throw new Error("expected a DefinitionError");
}
