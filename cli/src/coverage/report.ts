// `atomic-ci coverage`: which host packages have tests in dist-git, and a gating.yaml (docs/tests.md,
// "Coverage"). The host's packages are the definition's lockfile names (binary RPMs); each maps to
// the dist-git repository of its source package: the longest dash-separated prefix of the binary
// name that is a repository under --dist-git (`kernel-core` → `kernel`, `openssh-server` →
// `openssh`, `rpm-ostree-libs` → `rpm-ostree`). A binary with no such repository is its own
// package, without dist-git (so without tests or gating.yaml).
import { execFile } from "node:child_process";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadLockfiles } from "@atomic-ci/host-definition";
import { discoverPackageTests, type TestSource } from "@atomic-ci/testing";
import type { ToolContext } from "@atomic-ci/tools";

const run = promisify(execFile);

export interface PackageCoverage {
  /** Source package (dist-git repository name), or the binary name when no repository matched. */
  name: string;
  /** The host's binary RPMs built from it (lockfile names), sorted. */
  binaries: string[];
  /** Whether a dist-git repository was found for it. */
  distGit: boolean;
  /** The dist-git commit read (the branch head), when there is a repository. */
  commit: string | null;
  /** Tests discovered at that commit (STI and tmt), and their formats. */
  tests: number;
  formats: TestSource[];
  hasTests: boolean;
  hasGatingYaml: boolean;
  /** Why discovery failed (an unsupported test declaration counts as no tests). */
  error?: string;
}

export interface CoverageReport {
  packages: PackageCoverage[];
  withTests: number;
  total: number;
  /** withTests / total (0 for an empty host). */
  share: number;
}

export interface CoverageOptions {
  /** Host definition directory (holds manifest-lock.json and/or manifest-lock.<basearch>.json). */
  definition: string;
  /** Directory holding one dist-git repository per source package (`<dir>/<name>`). */
  distGit: string;
  basearch: string;
  /** Branch (or any rev) read in each dist-git repository; default its HEAD. */
  branch?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The dist-git repository a binary RPM comes from: the longest dash-prefix of its name that is one. */
export function sourceOf(binary: string, isRepo: (name: string) => boolean): string | undefined {
  const parts = binary.split("-");
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join("-");
    if (isRepo(candidate)) return candidate;
  }
  return undefined;
}

/** The lockfile's package names: `manifest-lock.json` then `manifest-lock.<basearch>.json`, merged as rpm-ostree does. */
export async function hostPackageNames(definition: string, basearch: string): Promise<string[]> {
  const files: string[] = [];
  for (const name of ["manifest-lock.json", `manifest-lock.${basearch}.json`]) if (await exists(join(definition, name))) files.push(join(definition, name));
  if (files.length === 0) throw new Error(`no lockfile (manifest-lock.json or manifest-lock.${basearch}.json) in the host definition`);
  const lock = await loadLockfiles(files, { root: definition });
  return [...lock.packages.keys()].sort();
}

async function repoNames(distGit: string, binaries: readonly string[]): Promise<Set<string>> {
  const candidates = new Set<string>();
  for (const b of binaries) {
    const parts = b.split("-");
    for (let n = 1; n <= parts.length; n++) candidates.add(parts.slice(0, n).join("-"));
  }
  const repos = new Set<string>();
  for (const c of candidates) if (await exists(join(distGit, c, ".git")) || (await exists(join(distGit, c, "HEAD")))) repos.add(c);
  return repos;
}

async function hasFileAt(repo: string, rev: string, path: string, ctx: ToolContext): Promise<boolean> {
  try {
    await run("git", ["-C", repo, "cat-file", "-e", `${rev}:${path}`], { env: ctx.env });
    return true;
  } catch {
    return false;
  }
}

export async function coverage(opts: CoverageOptions, ctx: ToolContext): Promise<CoverageReport> {
  const binaries = await hostPackageNames(opts.definition, opts.basearch);
  const repos = await repoNames(opts.distGit, binaries);
  const bySource = new Map<string, string[]>();
  for (const b of binaries) {
    const source = sourceOf(b, (n) => repos.has(n)) ?? b;
    bySource.set(source, [...(bySource.get(source) ?? []), b]);
  }
  const packages: PackageCoverage[] = [];
  for (const [name, bins] of [...bySource].sort(([a], [b]) => a.localeCompare(b))) {
    const entry: PackageCoverage = { name, binaries: bins.sort(), distGit: repos.has(name), commit: null, tests: 0, formats: [], hasTests: false, hasGatingYaml: false };
    if (entry.distGit) {
      const repo = join(opts.distGit, name);
      const rev = opts.branch ?? "HEAD";
      try {
        const found = await discoverPackageTests({ repo, rev, package: name }, ctx);
        entry.commit = found.commit;
        entry.tests = found.tests.length;
        entry.formats = [...new Set(found.tests.map((t) => t.source))].sort();
        entry.hasTests = found.tests.length > 0;
      } catch (err) {
        entry.error = err instanceof Error ? err.message : String(err);
      }
      entry.hasGatingYaml = await hasFileAt(repo, rev, "gating.yaml", ctx);
    }
    packages.push(entry);
  }
  const withTests = packages.filter((p) => p.hasTests).length;
  return { packages, withTests, total: packages.length, share: packages.length === 0 ? 0 : withTests / packages.length };
}
