// Discovery entry points: a package's dist-git tests at a commit (STI and/or tmt) and the host
// definition's own tests. Files are read with git at that commit, never from the work tree.
import type { ToolContext } from "@atomic-ci/tools";
import type { TestCase } from "../model.js";
import { isFmfRoot } from "./fmf.js";
import { treeAt, type TreeAtCommit } from "./git-tree.js";
import { isStiFile, parseSti } from "./sti.js";
import { parseTmt } from "./tmt.js";

export interface Discovery {
  commit: string;
  tests: TestCase[];
  /** STI tests declared only for other subjects (not tagged `atomic`). */
  skipped: string[];
}

export async function discoverPackageTests(opts: { repo: string; rev: string; package: string }, ctx: ToolContext): Promise<Discovery> {
  const tree = await treeAt(opts.repo, opts.rev, ctx);
  const sti = await stiTests(tree, opts.package, "sti");
  const tests = [...sti.tests];
  if (isFmfRoot(tree.files)) {
    const fmf = new Map<string, string>();
    for (const path of tree.files.filter((f) => f.endsWith(".fmf") && !f.startsWith(".fmf/"))) fmf.set(path, await tree.read(path));
    tests.push(...parseTmt(fmf, { package: opts.package, commit: tree.commit }));
  }
  return { commit: tree.commit, tests, skipped: sti.skipped };
}

/** Host-level tests: the definition repository's `tests/tests*.yml` (STI), source `host`. */
export async function discoverHostTests(opts: { repo: string; rev: string; name: string }, ctx: ToolContext): Promise<Discovery> {
  const tree = await treeAt(opts.repo, opts.rev, ctx);
  const sti = await stiTests(tree, opts.name, "host");
  return { commit: tree.commit, ...sti };
}

async function stiTests(tree: TreeAtCommit, name: string, source: "sti" | "host"): Promise<{ tests: TestCase[]; skipped: string[] }> {
  const out = { tests: [] as TestCase[], skipped: [] as string[] };
  for (const file of tree.files.filter(isStiFile).sort()) {
    const found = parseSti(await tree.read(file), { file, package: name, source, commit: tree.commit });
    out.tests.push(...found.tests);
    out.skipped.push(...found.skipped);
  }
  return out;
}
