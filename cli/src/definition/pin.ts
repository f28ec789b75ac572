// Pinning in the host definition repository: edit manifest-lock.overrides.yaml (comments
// kept) and commit it, so the pin is a real change of the definition that triggers a compose.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { addPin, assertPackageName, DefinitionError, removePin } from "@atomic-ci/host-definition";
import { gitAdd, gitCommit, gitEnv, runTool, safePath, type GitSignature, type ToolEnv } from "@atomic-ci/tools";

export const OVERRIDES_FILE = "manifest-lock.overrides.yaml";

export interface Author {
  name: string;
  email: string;
}

export interface DefinitionEdit {
  /** The definition repository's work tree. */
  dir: string;
  author: Author;
  env: ToolEnv;
  now?: Date;
}

/** What an edit did: the new commit, or none when the file already said so. */
export type EditResult = { changed: true; commit: string } | { changed: false };

/** `Name <email>`, as git prints an identity. */
export function parseAuthor(text: string): Author | undefined {
  const m = /^\s*([^<>]+?)\s*<([^<>\s]+)>\s*$/.exec(text);
  return m?.[1] && m[2] ? { name: m[1], email: m[2] } : undefined;
}

/**
 * The committer's identity from git config (repository, then global), read with the caller's
 * environment: the git wrappers deliberately ignore user config, but an operator's name is
 * exactly what belongs on their pin.
 */
export async function authorFromGitConfig(dir: string, env: ToolEnv): Promise<Author | undefined> {
  const get = async (key: string) => {
    const result = await runTool("git", ["-C", safePath(dir), "config", "--get", key], { env: { ...env, LC_ALL: "C" }, timeoutMs: 10_000, okExitCodes: "any" });
    return result.code === 0 ? result.stdout.trim() : "";
  };
  const [name, email] = [await get("user.name"), await get("user.email")];
  return name && email ? { name, email } : undefined;
}

async function commitOverrides(edit: DefinitionEdit, before: string, after: string, message: string): Promise<EditResult> {
  if (after === before) return { changed: false };
  const path = join(edit.dir, OVERRIDES_FILE);
  await writeFile(path, after);
  const ctx = { env: edit.env };
  try {
    await gitAdd(edit.dir, ctx, [OVERRIDES_FILE]);
    const signature: GitSignature = { ...edit.author, date: edit.now ?? new Date() };
    return { changed: true, commit: await gitCommit(edit.dir, { ...ctx, message, author: signature }) };
  } catch (err) {
    // Leave the work tree as it was: a half-done pin must not ride along with a later commit.
    await writeFile(path, before);
    await runTool("git", ["-C", safePath(edit.dir), "reset", "--quiet", "--", OVERRIDES_FILE], { env: gitEnv(edit.env), timeoutMs: 10_000, okExitCodes: "any" });
    throw err;
  }
}

/** Pin NAME at EVR for REASON, in one commit `pin NAME to EVR: REASON`. */
export async function pinPackage(edit: DefinitionEdit, pin: { name: string; evr: string; reason: string }): Promise<EditResult> {
  assertPackageName(pin.name, { file: "(command line)", key: "NAME" });
  const before = await readFile(join(edit.dir, OVERRIDES_FILE), "utf8");
  const after = addPin(before, { name: pin.name, evr: pin.evr, reason: pin.reason }, OVERRIDES_FILE);
  return commitOverrides(edit, before, after, `pin ${pin.name} to ${pin.evr}: ${pin.reason.trim()}\n`);
}

/** Remove NAME's pin, in one commit `unpin NAME`. */
export async function unpinPackage(edit: DefinitionEdit, name: string, reason?: string): Promise<EditResult> {
  assertPackageName(name, { file: "(command line)", key: "NAME" });
  const before = await readFile(join(edit.dir, OVERRIDES_FILE), "utf8");
  const { text } = removePin(before, name, OVERRIDES_FILE);
  return commitOverrides(edit, before, text, `unpin ${name}${reason ? `: ${reason.trim()}` : ""}\n`);
}

export { DefinitionError };
