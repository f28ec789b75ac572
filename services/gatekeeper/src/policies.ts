// The server policies: `*.yaml` files of a directory, or `policies/*.yaml` of the host
// definition repository at a branch (read with git, no checkout).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parsePolicies, type Policy } from "@atomic-ci/gating";
import { gitShowFile, type ToolContext } from "@atomic-ci/tools";

export const POLICIES_DIR = "policies";

const isPolicyFile = (name: string) => /\.ya?ml$/.test(name);

/** Parse policy files (name → text); every error of every file is reported together. */
export function parsePolicyFiles(files: ReadonlyMap<string, string>): Policy[] {
  const policies: Policy[] = [];
  const errors: string[] = [];
  for (const [name, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parsed = parsePolicies(text);
    if (parsed.ok) policies.push(...parsed.policies);
    else errors.push(...parsed.errors.map((e) => `${name}: ${e}`));
  }
  if (errors.length > 0) throw new Error(`invalid policies:\n${errors.join("\n")}`);
  return policies;
}

export async function loadPolicies(source: { dir?: string | undefined; repo?: string | undefined; branch: string }, tools: ToolContext): Promise<Policy[]> {
  const files = new Map<string, string>();
  if (source.dir) {
    for (const name of (await readdir(source.dir)).filter(isPolicyFile)) files.set(name, await readFile(join(source.dir, name), "utf8"));
  } else if (source.repo) {
    // `git show REV:DIR` lists the tree: "tree REV:DIR", a blank line, then one entry per line.
    const listing = await gitShowFile(source.repo, source.branch, POLICIES_DIR, tools);
    const names = listing.split("\n").slice(2).filter((n) => n !== "" && isPolicyFile(n));
    for (const name of names) files.set(`${POLICIES_DIR}/${name}`, await gitShowFile(source.repo, source.branch, `${POLICIES_DIR}/${name}`, tools));
  } else {
    return [];
  }
  return parsePolicyFiles(files);
}
