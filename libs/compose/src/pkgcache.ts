// The package cache, as rpm-ostree keeps one: every RPM is imported once into the pipeline's
// ostree repository as its own commit, on `atomic-ci/pkgcache/<name>/<SHA256HEADER>`. A tree
// is then the union of those commits (see assemble.ts), so a compose that changes one
// package unpacks and writes that package only.
import { lstat, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { isToolError, type ToolContext } from "@atomic-ci/tools";
import type { ResolvedPackage } from "./result.js";
import { ostreeCommit, ostreeRefs } from "./tools/ostree.js";
import { unpackRpm } from "./tools/unpack.js";

export const PKGCACHE_PREFIX = "atomic-ci/pkgcache";

/** A package name as one ref component: characters ostree refs do not allow (`+` in `libstdc++`) become `_XX`. */
export function escapeRefComponent(name: string): string {
  return name.replace(/[^A-Za-z0-9.-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function pkgcacheRef(pkg: Pick<ResolvedPackage, "name" | "headerSha256">): string {
  if (!/^[0-9a-f]{64}$/.test(pkg.headerSha256)) throw new Error(`${pkg.name} has no SHA256HEADER (${JSON.stringify(pkg.headerSha256)}): cannot cache it`);
  return `${PKGCACHE_PREFIX}/${escapeRefComponent(pkg.name)}/${pkg.headerSha256}`;
}

export async function cachedRefs(repo: string, ctx: ToolContext): Promise<Set<string>> {
  return new Set(await ostreeRefs(repo, PKGCACHE_PREFIX, ctx));
}

/** The packages the cache lacks. */
export async function uncachedPackages(repo: string, packages: readonly ResolvedPackage[], ctx: ToolContext): Promise<ResolvedPackage[]> {
  const have = await cachedRefs(repo, ctx);
  return packages.filter((p) => !have.has(pkgcacheRef(p)));
}

/** Import the packages the cache lacks (`missing`: already known, see uncachedPackages); returns the NEVRAs imported. */
export async function importPackages(repo: string, packages: readonly ResolvedPackage[], workDir: string, ctx: ToolContext, known?: readonly ResolvedPackage[]): Promise<string[]> {
  const missing = known ?? (await uncachedPackages(repo, packages, ctx));
  const unpackRoot = join(workDir, "unpack");
  await mkdir(unpackRoot, { recursive: true });
  const queue = [...missing];
  const worker = async (): Promise<void> => {
    for (let pkg = queue.shift(); pkg; pkg = queue.shift()) await importOne(repo, pkg, unpackRoot, ctx);
  };
  await Promise.all(Array.from({ length: Math.min(queue.length, availableParallelism()) }, worker));
  return missing.map((p) => p.nevra);
}

async function importOne(repo: string, pkg: ResolvedPackage, unpackRoot: string, ctx: ToolContext): Promise<void> {
  const dir = await mkdtemp(join(unpackRoot, `${escapeRefComponent(pkg.name)}-`));
  try {
    await unpackRpm(pkg.path, dir, ctx);
    await moveEtc(dir);
    // No fsync for cache imports: the ref is written after the objects, and a lost import is redone.
    const commit = { repo, branch: pkgcacheRef(pkg), trees: [{ dir }], subject: pkg.nevra, stringMetadata: { "rpmostree.nevra": pkg.nevra, "rpmostree.repo.digest": pkg.digest }, fsync: false };
    // ostree 2022.7 writers in one repo can trip over each other's staging directories
    // ("opendir(staging-...): No such file or directory"); that race is retried.
    for (let attempt = 1; ; attempt++) {
      try {
        await ostreeCommit(commit, ctx);
        break;
      } catch (err) {
        if (attempt >= 3 || !isToolError(err, "TOOL_FAILED") || !/staging-|No such file or directory/.test(err.message)) throw err;
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * An ostree deployment keeps the default configuration in `/usr/etc` and merges it into a
 * writable `/etc` at deploy time, so packages' `/etc` moves there at import, as rpm-ostree does.
 */
export async function moveEtc(root: string): Promise<void> {
  const etc = join(root, "etc");
  if (!(await isDir(etc))) return;
  await mkdir(join(root, "usr"), { recursive: true });
  await mergeInto(etc, join(root, "usr", "etc"));
}

async function mergeInto(from: string, to: string): Promise<void> {
  if (!(await exists(to))) {
    await rename(from, to);
    return;
  }
  for (const entry of await readdir(from)) {
    const src = join(from, entry);
    const dst = join(to, entry);
    if ((await isDir(src)) && (await isDir(dst))) await mergeInto(src, dst);
    else await rename(src, dst);
  }
  await rm(from, { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

async function isDir(path: string): Promise<boolean> {
  // lstat: a package shipping `/etc` as a symlink must not make us write through it.
  return lstat(path).then((s) => s.isDirectory(), () => false);
}
