// One compose: definition + change set → depsolve (or the depsolve cache) → lockfile → input hash → (reuse | import,
// assemble, commit) → compose JSON. Every failure comes back as a typed result.
import { existsSync } from "node:fs";
import { access, mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { DefinitionError, loadTreefile, nextAutomaticVersion, type JsonValue, type LoadedTreefile } from "@atomic-ci/host-definition";
import { isToolError, UnsafeArgumentError, type ToolContext } from "@atomic-ci/tools";
import { assembleAndCommit } from "./assemble.js";
import { writeComposeRecord } from "./compose-record.js";
import { depsolve } from "./depsolve.js";
import { depsolveKey, readDepsolveCache, writeDepsolveCache, type Resolution } from "./depsolve-cache.js";
import { loadDefinitionLock, newLockfile } from "./definition-lock.js";
import { computeInputHash } from "./input-hash.js";
import { DirLock, type Lock } from "./lock.js";
import { jsonToGVariant, packageDiff, parsePkglist, pkglistGVariant } from "./metadata.js";
import { importPackages, uncachedPackages } from "./pkgcache.js";
import { buildRequests, candidateRequest, parseCandidates } from "./requests.js";
import { findByInputHash, recordInputHash } from "./reuse.js";
import { loadRepos } from "./repos.js";
import type { ComposeResult, ResolvedPackage } from "./result.js";
import { NoShellInTreeError } from "./tools/bwrap.js";
import { safeRepoUrl, type DnfRepo } from "./tools/dnf.js";
import { gvariantString, gvString, ostreeInit, ostreeMetadata, ostreeRevParse, safeRef } from "./tools/ostree.js";

export interface ComposeOptions {
  /** The top-level treefile of a checked-out host definition; the lockfile and overrides sit beside it. */
  treefile: string;
  basearch: string;
  /** The pipeline's archive repository (created when missing). */
  repo: string;
  /** Scratch space: each compose works in its own directory below it and removes it. */
  workDir: string;
  /**
   * The change set's builds: the repository holding them and their RPMs' NEVRAs — one set (the
   * Koji candidates repository) or several (plus the composer's scratch builds). Each
   * repository shows dnf only its own set's NEVRAs.
   */
  candidates?: CandidateSet | readonly CandidateSet[];
  changeSetId?: string;
  /** Serialises composes of one ref. Default: a DirLock inside the repository. */
  lock?: Lock;
  /** Where compose JSONs go. Default: `composes/` beside the repository. */
  composesDir?: string;
  now?: () => Date;
}

export interface CandidateSet {
  repo: { id: string; url: string };
  nevras: readonly string[];
  /** Give the repository dnf priority 1, so its packages win over same-named ones elsewhere (scratch builds of an unbumped release). */
  preferred?: boolean;
}

/** The candidate sets as a list (one set is a list of one); repository ids must differ. */
export function candidateSets(candidates: ComposeOptions["candidates"]): readonly CandidateSet[] {
  if (candidates === undefined) return [];
  const sets: readonly CandidateSet[] = "repo" in candidates ? [candidates] : candidates;
  const ids = sets.map((s) => s.repo.id);
  if (new Set(ids).size !== ids.length) throw new TypeError(`candidate repositories must have distinct ids: ${ids.join(", ")}`);
  return sets;
}

export const COMPOSE_EXTENSIONS_DIR = join("extensions", "atomic-ci");

export async function compose(options: ComposeOptions, ctx: ToolContext): Promise<ComposeResult> {
  const result = await composeOnce(options, ctx, true);
  // A cached resolution whose RPMs are needed but not at hand: do it the long way.
  return result === DEPSOLVE_AGAIN ? ((await composeOnce(options, ctx, false)) as ComposeResult) : result;
}

const DEPSOLVE_AGAIN = Symbol("depsolve again");

async function composeOnce(options: ComposeOptions, ctx: ToolContext, useDepsolveCache: boolean): Promise<ComposeResult | typeof DEPSOLVE_AGAIN> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const mark = (step: string, since: number): number => {
    timings[step] = Date.now() - since;
    return Date.now();
  };
  const repo = resolve(options.repo);
  await mkdir(options.workDir, { recursive: true });
  const work = await mkdtemp(join(resolve(options.workDir), "compose-"));
  try {
    let t = Date.now();
    const loaded: LoadedTreefile = await loadTreefile(options.treefile, { basearch: options.basearch });
    const { treefile } = loaded;
    const ref = safeRef(treefile.ref);
    const lock = await loadDefinitionLock(dirname(resolve(options.treefile)), treefile.basearch);
    const sets = candidateSets(options.candidates);
    const candidateNevras = sets.flatMap((s) => s.nevras);
    const candidates = parseCandidates(candidateNevras);
    const requests = buildRequests(treefile, lock, candidates);
    const repos: DnfRepo[] = await loadRepos(dirname(resolve(options.treefile)), treefile.repos);
    for (const set of sets) {
      const only = parseCandidates(set.nevras).map(candidateRequest).sort();
      repos.push({ ...set.repo, only, ...(set.preferred ? { priority: 1 } : {}) });
    }
    const dnfOptions = { workDir: work, repos, requests: requests.install, exclude: treefile.excludePackages, releasever: treefile.releasever ?? "", basearch: treefile.basearch, weakDeps: treefile.recommends };
    t = mark("load", t);

    // Unsafe repository URLs and ids are refused by dnfDownload; the cache must not get past that check.
    for (const r of repos) safeRepoUrl(r.url);
    const hasRepo = existsSync(join(repo, "config"));
    const cacheKey = useDepsolveCache ? await depsolveKey({ ...dnfOptions, lock, candidates: candidateNevras }) : undefined;
    let solved: Resolution | undefined = cacheKey !== undefined && hasRepo ? await readDepsolveCache(repo, cacheKey, repos) : undefined;
    const depsolveCached = solved !== undefined;
    if (solved) {
      t = mark("depsolveCache", t);
    } else {
      const fresh = await depsolve(dnfOptions, ctx);
      if (fresh.type !== "resolved") return fresh;
      solved = fresh;
      t = mark("depsolve", t);
    }
    const { packages } = solved;

    const now = (options.now ?? (() => new Date()))();
    const lockfile = newLockfile(packages, repos, now);
    const inputHash = await computeInputHash({ treefile, packages });
    if (!hasRepo) {
      await mkdir(repo, { recursive: true });
      await ostreeInit(repo, "archive", ctx);
    }
    if (!depsolveCached) {
      const key = cacheKey ?? (await depsolveKey({ ...dnfOptions, lock, candidates: candidateNevras }));
      if (key !== undefined) await writeDepsolveCache(repo, key, solved, repos);
    }
    const record = { repo, ref, inputHash, packages, lockfile, depsolveCached, composesDir: options.composesDir ?? join(dirname(repo), "composes") };
    t = mark("hash", t);

    const existing = await findByInputHash(repo, ref, inputHash, ctx);
    if (existing) {
      mark("reuse", t);
      return await writeComposeRecord({ ...record, ...existing, reused: true, imported: [], timings: { ...timings, total: Date.now() - started } }, ctx);
    }

    const locker = options.lock ?? new DirLock(join(repo, COMPOSE_EXTENSIONS_DIR, "locks"));
    const release = await locker.acquire(`ref-${ref}`);
    try {
      // Another composer may have committed this very input while we waited.
      const raced = await findByInputHash(repo, ref, inputHash, ctx);
      if (raced) return await writeComposeRecord({ ...record, ...raced, reused: true, imported: [], timings: { ...timings, total: Date.now() - started } }, ctx);
      t = mark("lock", t);

      const missing = await uncachedPackages(repo, packages, ctx);
      // A cached resolution names RPMs in their repositories: usable only if they are there.
      if (depsolveCached && !(await allExist(missing.map((p) => p.path)))) return DEPSOLVE_AGAIN;
      const imported = await importPackages(repo, packages, work, ctx, missing);
      t = mark("import", t);

      const parent = await ostreeRevParse(repo, ref, ctx);
      const previousVersion = parent ? gvariantString(await ostreeMetadata(repo, parent, "version", ctx)) : undefined;
      const parentList = parent ? parsePkglist((await ostreeMetadata(repo, parent, "rpmostree.rpmdb.pkglist", ctx)) ?? "") : [];
      const version = treefile.automaticVersionPrefix ? nextAutomaticVersion(treefile.automaticVersionPrefix, { now, previous: previousVersion }) : inputHash.slice(0, 12);
      const commit = await assembleAndCommit(
        {
          repo,
          workDir: work,
          treefile,
          packages,
          branch: ref,
          ...(parent ? { parent } : {}),
          subject: `${ref} ${version}`,
          stringMetadata: { version, "rpmostree.inputhash": inputHash, ...(options.changeSetId ? { "atomic-ci.change-set": options.changeSetId } : {}) },
          metadata: commitMetadata(treefile.addCommitMetadata, packages, solved.kernel),
        },
        ctx,
      );
      await recordInputHash(repo, inputHash, commit);
      mark("commit", t);
      return await writeComposeRecord(
        { ...record, commit, version, reused: false, imported, pkgdiff: packageDiff(parentList, packages), ...(parent ? { parent } : {}), timings: { ...timings, total: Date.now() - started } },
        ctx,
      );
    } finally {
      await release();
    }
  } catch (err) {
    return classifyError(err);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function allExist(paths: readonly string[]): Promise<boolean> {
  const found = await Promise.all(paths.map((p) => (p === "" ? Promise.resolve(false) : access(p).then(() => true, () => false))));
  return found.every(Boolean);
}

function commitMetadata(extra: Record<string, JsonValue>, packages: readonly ResolvedPackage[], kernel: string | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  // The treefile's keys first, so that ours (below) cannot be overridden by them.
  for (const [key, value] of Object.entries(extra)) metadata[key] = jsonToGVariant(value);
  metadata["rpmostree.rpmdb.pkglist"] = pkglistGVariant(packages);
  if (kernel !== undefined) {
    metadata["ostree.bootable"] = "true";
    metadata["ostree.linux"] = gvString(kernel);
  }
  return metadata;
}

/** A bad definition or argument is a verdict about the input; anything else is the machine's problem. */
export function classifyError(err: unknown): ComposeResult {
  if (err instanceof DefinitionError) return { type: "compose-failure", reason: err.message };
  if (err instanceof UnsafeArgumentError) return { type: "compose-failure", reason: err.message };
  if (err instanceof NoShellInTreeError) return { type: "compose-failure", reason: err.message };
  if (isToolError(err) && err.tool === "bwrap" && !err.infrastructure) return { type: "compose-failure", reason: `a postprocess script failed: ${err.message}` };
  const message = err instanceof Error ? err.message : String(err);
  return { type: "infrastructure-error", reason: message };
}
