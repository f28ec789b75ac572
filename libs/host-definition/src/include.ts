import { realpath } from "node:fs/promises";
import { checkRealFile } from "./confine.js";
import { IssueList, type DefinitionIssue } from "./errors.js";
import { readDefinitionFile } from "./source.js";
import { emptyFragment, readFragment, type TreefileFragment } from "./treefile-fragment.js";

/**
 * Following `include` the way rpm-ostree does: each include is read (depth first) and
 * merged into the including file, in the order listed. Merging one file into another:
 * - scalars (`ref`, `releasever`, `recommends`, ...): the including file wins; between
 *   two includes of one file, the first one listed wins (it was merged first);
 * - lists (`packages`, `postprocess`, ...): the included list goes before the including
 *   one. So with `include: [a, b]`, lists come out as b, a, then the file itself — the
 *   order rpm-ostree documents for `postprocess`;
 * - `add-commit-metadata`: merged per key, the including file winning.
 * A cycle is an error naming it; so is including one file twice by two ways (rpm-ostree
 * refuses it too), and nesting deeper than MAX_INCLUDE_DEPTH.
 */

export const MAX_INCLUDE_DEPTH = 50;

export interface IncludeState {
  root: string;
  realRoot: string;
  basearch: string;
  issues: DefinitionIssue[];
  /** Absolute paths of the treefiles read, in read order. */
  files: string[];
  /** Real path of every treefile taken in → the file that included it. */
  seen: Map<string, string>;
  /** A file could not be read or an include was refused: the merge lacks something. */
  incomplete: boolean;
}

interface StackEntry {
  real: string;
  display: string;
}

/** Merge `src` (an included file) into `dest` (the file including it). */
export function mergeFragment(dest: TreefileFragment, src: TreefileFragment): void {
  // Scalars set in dest stay (none is ever set to undefined, so the spread is "dest wins").
  dest.scalars = { ...src.scalars, ...dest.scalars };
  const joined = <T>(a: T[], b: T[]): T[] => [...a, ...b];
  dest.lists = {
    repos: joined(src.lists.repos, dest.lists.repos),
    packages: joined(src.lists.packages, dest.lists.packages),
    "exclude-packages": joined(src.lists["exclude-packages"], dest.lists["exclude-packages"]),
    "add-files": joined(src.lists["add-files"], dest.lists["add-files"]),
    "remove-files": joined(src.lists["remove-files"], dest.lists["remove-files"]),
    postprocess: joined(src.lists.postprocess, dest.lists.postprocess),
    units: joined(src.lists.units, dest.lists.units),
  };
  for (const [key, value] of src.metadata) if (!dest.metadata.has(key)) dest.metadata.set(key, value);
}

/** Add-files sources exist, are regular files, and stay in the root once symlinks are resolved. */
async function checkAddFileSources(fragment: TreefileFragment, state: IncludeState, issues: IssueList): Promise<void> {
  const kept = [];
  for (const entry of fragment.lists["add-files"]) {
    const problem = await checkRealFile(state.realRoot, entry.sourcePath, entry.source);
    if (problem === undefined) kept.push(entry);
    else issues.add(entry.key, problem);
  }
  fragment.lists["add-files"] = kept;
}

/** Read one treefile and, depth first, everything it includes; return them merged. */
export async function loadFragmentTree(path: string, display: string, depth: number, stack: readonly StackEntry[], state: IncludeState): Promise<TreefileFragment> {
  const read = await readDefinitionFile(path, display);
  if (!read.ok) {
    state.issues.push(...read.issues);
    state.incomplete = true;
    return emptyFragment(display);
  }
  state.files.push(path);
  const issues = new IssueList(display);
  const fragment = readFragment(read.value, display, { path, root: state.root, basearch: state.basearch, issues });
  await checkAddFileSources(fragment, state, issues);
  state.issues.push(...issues.issues);

  for (const entry of fragment.include) {
    const report = (message: string): void => {
      state.issues.push({ file: display, key: entry.key, message });
      state.incomplete = true;
    };
    const problem = await checkRealFile(state.realRoot, entry.absolute, entry.reference);
    if (problem !== undefined) {
      report(problem);
      continue;
    }
    const real = await realpath(entry.absolute);
    const cycleStart = stack.findIndex((s) => s.real === real);
    if (cycleStart >= 0) {
      report(`include cycle: ${[...stack.slice(cycleStart).map((s) => s.display), entry.display].join(" -> ")}`);
      continue;
    }
    const includedBy = state.seen.get(real);
    if (includedBy !== undefined) {
      report(`${entry.display} is already included by ${includedBy}; a treefile may be included only once`);
      continue;
    }
    if (depth + 1 > MAX_INCLUDE_DEPTH) {
      report(`includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`);
      continue;
    }
    state.seen.set(real, display);
    const child = await loadFragmentTree(entry.absolute, entry.display, depth + 1, [...stack, { real, display: entry.display }], state);
    mergeFragment(fragment, child);
  }
  return fragment;
}
