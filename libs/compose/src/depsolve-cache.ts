// The depsolve cache: a no-op recompose should not pay for dnf. dnf's answer is determined by
// what it is asked (requests, excludes, weak deps, releasever, arch, the repositories with
// their includepkgs) and by the repositories' metadata, whose every file `repodata/repomd.xml`
// names by checksum. So the key is a sha256 over exactly that — plus the effective lock and
// the change set's NEVRAs (already in the requests, kept explicit) and the composer's format
// version — and the resolution is kept per repository in
// `<repo>/extensions/atomic-ci/depsolve-cache/<key>.json`. A key that cannot be computed (a
// repository whose repomd.xml cannot be read) means no caching: dnf runs and says what is wrong.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { Lockfile } from "@atomic-ci/host-definition";
import { canonicalJson, COMPOSER_FORMAT_VERSION } from "./input-hash.js";
import type { ResolvedPackage } from "./result.js";
import type { DnfDownloadOptions, DnfRepo } from "./tools/dnf.js";

export const DEPSOLVE_CACHE_DIR = join("extensions", "atomic-ci", "depsolve-cache");
/** Bump when what an entry holds, or how the key is made, changes. */
const CACHE_FORMAT = 1;

export interface DepsolveKeyInput extends Omit<DnfDownloadOptions, "workDir"> {
  /** The effective lock (lockfile with overrides applied). */
  lock: Lockfile;
  /** The change set's RPM NEVRAs as given. */
  candidates: readonly string[];
}

export interface Resolution {
  packages: ResolvedPackage[];
  kernel?: string;
}

interface CachedPackage extends Omit<ResolvedPackage, "path"> {
  /** Repository id and `location href` of the RPM, when its repository is local. */
  repo?: string;
  location?: string;
}

interface CacheEntry {
  format: number;
  key: string;
  packages: CachedPackage[];
  kernel?: string;
}

/** `file://`, `http://` or `https://` + a path relative to the repository → its bytes (undefined when unreadable). */
async function readRepoFile(url: string, rel: string): Promise<Buffer | undefined> {
  const target = new URL(rel, url.endsWith("/") ? url : `${url}/`);
  try {
    if (target.protocol === "file:") return await readFile(fileURLToPath(target));
    if (target.protocol !== "http:" && target.protocol !== "https:") return undefined;
    const res = await fetch(target, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? Buffer.from(await res.arrayBuffer()) : undefined;
  } catch {
    return undefined;
  }
}

/** The cache key, or undefined when some repository's repomd.xml cannot be read. */
export async function depsolveKey(input: DepsolveKeyInput): Promise<string | undefined> {
  const repomds = await Promise.all(input.repos.map((r) => readRepoFile(r.url, "repodata/repomd.xml")));
  if (repomds.some((m) => m === undefined)) return undefined;
  const doc = {
    cache: CACHE_FORMAT,
    composer: COMPOSER_FORMAT_VERSION,
    basearch: input.basearch,
    releasever: input.releasever,
    weakDeps: input.weakDeps,
    requests: [...input.requests],
    exclude: [...input.exclude],
    lock: [...input.lock.packages].map(([name, p]) => [name, p.evra ?? null, p.evr ?? null, p.digest ?? null]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    candidates: [...input.candidates].sort(),
    // Order matters to dnf (ties between repositories), so it is kept.
    // repomd.xml names its primary metadata by checksum, and primary names every RPM by its
    // sha256: so a repository whose RPMs changed (a scratch build of a new PR head with the
    // same NEVRA) has another repomd digest, and another key.
    repos: input.repos.map((r, i) => ({
      id: r.id,
      url: r.url,
      only: r.only === undefined ? null : [...r.only].sort(),
      repomd: createHash("sha256").update(repomds[i] ?? "").digest("hex"),
      // Only when set, so the keys of composes without it stay what they were.
      ...(r.priority === undefined ? {} : { priority: r.priority }),
    })),
  };
  return createHash("sha256").update(canonicalJson(doc)).digest("hex");
}

const HEX64 = /^[0-9a-f]{64}$/;

function isCachedPackage(p: unknown): p is CachedPackage {
  if (p === null || typeof p !== "object") return false;
  const o = p as Record<string, unknown>;
  const strings = ["name", "version", "release", "arch", "nevra", "evra", "digest", "headerSha256"] as const;
  return strings.every((k) => typeof o[k] === "string") && typeof o.epoch === "number" && HEX64.test(o.headerSha256 as string) && /^sha(256|512):[0-9a-f]+$/.test(o.digest as string);
}

/** A local path for a cached package's RPM, or "" when there is none (a remote repository). */
function localPath(p: CachedPackage, repos: readonly DnfRepo[]): string {
  const repo = repos.find((r) => r.id === p.repo);
  if (!repo || p.location === undefined || !repo.url.startsWith("file:")) return "";
  try {
    const base = repo.url.endsWith("/") ? repo.url : `${repo.url}/`;
    const target = new URL(p.location, base);
    // A location must stay inside its repository.
    return target.href.startsWith(base) ? fileURLToPath(target) : "";
  } catch {
    return "";
  }
}

/**
 * The cached resolution for `key`, or undefined (no entry, or one that does not read back).
 * Each package's `path` is its RPM inside its local repository; the files are not touched here
 * (repomd.xml matched, so the repository lists them): `path` only matters when a package
 * has to be imported, and then `availableLocally` checks it.
 */
export async function readDepsolveCache(repo: string, key: string, repos: readonly DnfRepo[]): Promise<Resolution | undefined> {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(await readFile(join(repo, DEPSOLVE_CACHE_DIR, `${key}.json`), "utf8")) as CacheEntry;
  } catch {
    return undefined;
  }
  if (entry.format !== CACHE_FORMAT || entry.key !== key || !Array.isArray(entry.packages) || !entry.packages.every(isCachedPackage)) return undefined;
  const packages = entry.packages.map((p): ResolvedPackage => {
    const { repo: _repo, location: _location, ...rest } = p;
    return { ...rest, path: localPath(p, repos) };
  });
  return typeof entry.kernel === "string" ? { packages, kernel: entry.kernel } : { packages };
}

/** pkgid (sha256 of the file) → location href, from a local repository's primary metadata (gzip or plain). */
async function primaryLocations(repo: DnfRepo): Promise<Map<string, string>> {
  const locations = new Map<string, string>();
  if (!repo.url.startsWith("file:")) return locations;
  const repomd = (await readRepoFile(repo.url, "repodata/repomd.xml"))?.toString("utf8") ?? "";
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1];
  if (href === undefined || !/\.xml(\.gz)?$/.test(href)) return locations;
  const raw = await readRepoFile(repo.url, href);
  if (raw === undefined) return locations;
  const xml = href.endsWith(".gz") ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
  for (const m of xml.matchAll(/<checksum type="sha256" pkgid="YES">([0-9a-f]{64})<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
    if (m[1] !== undefined && m[2] !== undefined) locations.set(m[1], m[2]);
  }
  return locations;
}

/** Store a resolution (temp file + rename: readers see a whole entry or none). Best effort: a failure only costs a later depsolve. */
export async function writeDepsolveCache(repo: string, key: string, resolution: Resolution, repos: readonly DnfRepo[]): Promise<void> {
  const dir = join(repo, DEPSOLVE_CACHE_DIR);
  const tmp = join(dir, `.${key}.${process.pid}.${randomBytes(4).toString("hex")}`);
  try {
    const perRepo = await Promise.all(repos.map(async (r) => [r.id, await primaryLocations(r).catch(() => new Map<string, string>())] as const));
    const packages = resolution.packages.map((p): CachedPackage => {
      const { path: _path, ...rest } = p;
      const sha = p.digest.startsWith("sha256:") ? p.digest.slice("sha256:".length) : "";
      // The first repository (in dnf's order) that lists this very file.
      const found = perRepo.find(([, locations]) => locations.has(sha));
      return found ? { ...rest, repo: found[0], location: found[1].get(sha) ?? "" } : rest;
    });
    const entry: CacheEntry = { format: CACHE_FORMAT, key, packages, ...(resolution.kernel !== undefined ? { kernel: resolution.kernel } : {}) };
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, `${JSON.stringify(entry)}\n`);
    await rename(tmp, join(dir, `${key}.json`));
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}
