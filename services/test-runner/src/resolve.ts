// Which packages a compose changed, and the dist-git commit each build was made from.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { gitLog, gitShowFile, safeRpmName, type DistGitRepos, type ToolContext } from "@atomic-ci/tools";
import type { ChangeSetQueued, ComposeComplete, PackageDiff } from "@atomic-ci/messages";

/** What a dist-git repository (source package) name may be. */
const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export interface ChangedBuild {
  /** Source package name (a dist-git repository). */
  name: string;
  version: string;
  /** With the dist tag, as in the NVR (`1.fc41`). */
  release: string;
  nvr: string;
}

/** `name-[epoch:]version-release[.arch]` → its parts (arch dropped when `withArch`). */
export function splitNevra(nevra: string, withArch: boolean): { name: string; version: string; release: string } | undefined {
  let rest = nevra;
  if (withArch) {
    const dot = rest.lastIndexOf(".");
    if (dot < 0) return undefined;
    rest = rest.slice(0, dot);
  }
  const parts = rest.split("-");
  if (parts.length < 3) return undefined;
  const release = parts.pop() ?? "";
  const version = (parts.pop() ?? "").replace(/^\d+:/, "");
  return { name: parts.join("-"), version, release };
}

/**
 * The builds a compose brought in. The change set's build members name source packages and
 * NVRs exactly; without them (the change set was not seen), the package diff's added,
 * upgraded and downgraded binary packages whose name is a dist-git repository under
 * `repos` stand for their source package (a subpackage like `ostree-libs` is skipped:
 * its source package is in the diff too when it changed).
 */
export async function changedBuilds(pkgdiff: PackageDiff, changeSet: Pick<ChangeSetQueued, "members"> | undefined, repos: DistGitRepos, revs: readonly ChangedRev[] = []): Promise<ChangedBuild[]> {
  const out = new Map<string, ChangedBuild>();
  for (const member of changeSet?.members ?? []) {
    if (member.kind !== "build") continue;
    const parts = splitNevra(member.nvr, false);
    if (parts) out.set(member.nvr, { ...parts, name: member.package, nvr: member.nvr });
  }
  if (out.size > 0) return [...out.values()];
  // A package changed at a dist-git commit or pull request is tested at that commit (changedRevs):
  // its new version is in the diff, but on no branch's spec.
  const atRev = new Set(revs.map((r) => r.name));
  for (const nevra of [...pkgdiff.added, ...pkgdiff.upgraded.map((u) => u.to), ...pkgdiff.downgraded.map((u) => u.to)]) {
    const parts = splitNevra(nevra, true);
    if (!parts || atRev.has(parts.name) || !REPO_NAME.test(parts.name) || (await repos.path(parts.name)) === undefined) continue;
    const nvr = `${parts.name}-${parts.version}-${parts.release}`;
    out.set(nvr, { ...parts, nvr });
  }
  return [...out.values()];
}

/**
 * A package's dist-git repository (holding `rev`), or why there is none: the package has no
 * repository, or the forge cannot be asked. Either way the caller reports a discovery ERROR.
 */
export async function distGitRepoOf(repos: DistGitRepos | undefined, name: string, rev?: string): Promise<{ path: string } | { reason: string }> {
  try {
    const path = await repos?.path(name, rev);
    return path === undefined ? { reason: `${name} has no dist-git repository` } : { path };
  } catch (err) {
    return { reason: `${name}'s dist-git repository cannot be read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** A package whose tests come from a given dist-git commit: a pushed commit's, or a pull request's head. */
export interface ChangedRev {
  /** Source package name (a dist-git repository). */
  name: string;
  rev: string;
  /** The scratch build the compose made of it, when the commit changed the spec. */
  nvr?: string;
}

/**
 * The change set's dist-git commits and pull requests, by package: what the compose built of
 * them (`scratch_builds`, in the compose message itself, so known after a restart too), then
 * the members that needed no build (a tests-only commit: the tests are what changed).
 */
export function changedRevs(changeSet: Pick<ChangeSetQueued, "members"> | undefined, scratchBuilds: ComposeComplete["scratch_builds"]): ChangedRev[] {
  const out = new Map<string, ChangedRev>();
  for (const b of scratchBuilds ?? []) out.set(b.package, { name: b.package, rev: b.rev, nvr: b.nvr });
  for (const member of changeSet?.members ?? []) {
    if ((member.kind !== "dist-git-commit" && member.kind !== "pull-request") || member.package === undefined || out.has(member.package)) continue;
    out.set(member.package, { name: member.package, rev: member.rev });
  }
  return [...out.values()];
}

function specField(spec: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(\\S+)\\s*$`, "im").exec(spec)?.[1];
}

/** Does a spec's `Release:` (with `%{?dist}` and similar dist macros dropped) give the NVR's release? */
export function releaseMatches(specRelease: string, release: string): boolean {
  const bare = specRelease.replace(/%\{\??dist\}/g, "");
  if (bare.includes("%")) return false;
  return release === bare || release.startsWith(`${bare}.`);
}

/**
 * The dist-git commit a build was made from: the newest commit on `rev` (the branch head by
 * default) whose `<name>.spec` has the build's `Version:` and `Release:`. Koji records it in
 * the build's `source` (`git+https://…#<commit>`), which the pipeline's messages do not carry;
 * the spec is what decides the NVR, so this finds the same commit unless a later commit
 * changed other files without bumping the release (then the later one is taken: the newest
 * state of that release).
 */
export async function buildCommit(repo: string, build: Pick<ChangedBuild, "name" | "version" | "release">, ctx: ToolContext & { rev?: string }): Promise<string | undefined> {
  const spec = `${safeRpmName(build.name)}.spec`;
  for (const entry of await gitLog(repo, { ...ctx, rev: ctx.rev ?? "HEAD" })) {
    let text: string;
    try {
      text = await gitShowFile(repo, entry.commit, spec, ctx);
    } catch {
      continue;
    }
    const version = specField(text, "Version");
    const release = specField(text, "Release");
    if (version === build.version && release !== undefined && releaseMatches(release, build.release)) return entry.commit;
  }
  return undefined;
}

/** The part of rpm-ostree's lockfile read here: package name → `evra` (`[E:]V-R.arch`) or `evr`. */
const LockfileJson = z.looseObject({
  packages: z.record(z.string(), z.looseObject({ evra: z.string().min(1).optional(), evr: z.string().min(1).optional() })),
});

/** The dist-git repository a binary RPM comes from: the longest dash-prefix of its name that is one (the coverage report's rule). */
export async function sourceOf(binary: string, isRepo: (name: string) => Promise<boolean>): Promise<string | undefined> {
  const parts = binary.split("-");
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join("-");
    if (REPO_NAME.test(candidate) && (await isRepo(candidate))) return candidate;
  }
  return undefined;
}

/**
 * Every host package of a compose as a build: the compose's lockfile (what the commit
 * holds) read binary by binary, each mapped to its source package's dist-git repository by
 * name (`sourceOf`), with the binary's version and release (subpackages share their source's).
 * Binaries without a repository have no dist-git tests and are left out.
 */
export async function hostBuilds(lockfilePath: string, repos: DistGitRepos): Promise<ChangedBuild[]> {
  let parsed: z.output<typeof LockfileJson>;
  try {
    parsed = LockfileJson.parse(JSON.parse(await readFile(lockfilePath, "utf8")));
  } catch (err) {
    throw new Error(`the compose's lockfile ${lockfilePath} cannot be read: ${err instanceof Error ? err.message.split("\n")[0] ?? "" : String(err)}`, { cause: err });
  }
  const out = new Map<string, ChangedBuild>();
  for (const [binary, entry] of Object.entries(parsed.packages).sort(([a], [b]) => a.localeCompare(b))) {
    const name = await sourceOf(binary, async (candidate) => (await repos.path(candidate)) !== undefined);
    if (!name || out.has(name)) continue;
    const evr = entry.evra ? splitNevra(`x-${entry.evra}`, true) : entry.evr ? splitNevra(`x-${entry.evr}`, false) : undefined;
    if (!evr) continue;
    out.set(name, { name, version: evr.version, release: evr.release, nvr: `${name}-${evr.version}-${evr.release}` });
  }
  return [...out.values()];
}
