import { IssueList, showValue, throwIfAny } from "./errors.js";
import { displayName, parseOrThrow, readDefinitionTextOrThrow, type LoadFileOptions } from "./definition-file.js";
import { tryParseEvr, tryParseEvra, type Evr } from "./evr.js";
import { packageNameProblem } from "./rpm-names.js";
import { isMapping } from "./source.js";

/**
 * rpm-ostree's lockfile, `manifest-lock.<basearch>.json`:
 * `{"metadata": {"generated": T, "rpmmd_repos": {"<repo>": {"generated": T}}},
 *   "packages": {"<name>": {"evra": "1:1.32.12-2.fc35.x86_64", "digest": "sha256:..."},
 *                "<name2>": {"evr": "053-5.fc34"}}}`
 * Every package that is in the lock may only be installed at its locked version.
 */

/** One locked package: exactly one of `evra` (with arch) and `evr`, and maybe a digest. */
export type LockedPackage = { evra: string; evr?: never; digest?: string } | { evr: string; evra?: never; digest?: string };

export interface LockfileMetadata {
  /** RFC 3339 time the lock was generated. */
  generated?: string;
  /** Repository id → the RFC 3339 time its metadata was generated. */
  rpmmdRepos?: Map<string, { generated: string }>;
}

export interface Lockfile {
  metadata?: LockfileMetadata;
  /** A Map, not an object: a package may be called `__proto__`. */
  packages: Map<string, LockedPackage>;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function isTimestamp(value: unknown): value is string {
  return typeof value === "string" && RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], at: string, issues: IssueList): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) issues.add(at === "" ? key : `${at}.${key}`, "unknown key");
}

/** The EVR a locked (or overriding) package names, arch dropped. */
export function lockedEvr(entry: LockedPackage): Evr {
  const parsed = entry.evra !== undefined ? tryParseEvra(entry.evra) : tryParseEvr(entry.evr);
  // Entries come from validation, where both parse; a hand-built bad one is a bug.
  if (!parsed.ok) throw new Error(`invalid locked version: ${parsed.message}`);
  return parsed.value;
}

/** The version text of an entry, `evra` or `evr`. */
export function lockedVersionText(entry: LockedPackage): string {
  return entry.evra ?? entry.evr;
}

/**
 * Validate the version part of a package entry (`evr`/`evra`/`digest`); issues go under
 * `at`. Shared with the overrides file, whose entries add `metadata`.
 */
export function readLockedPackage(value: unknown, at: string, issues: IssueList, extraKeys: readonly string[] = []): LockedPackage | undefined {
  if (!isMapping(value)) {
    issues.add(at, "expected a mapping with evr or evra");
    return undefined;
  }
  unknownKeys(value, ["evr", "evra", "digest", ...extraKeys], at, issues);
  const { evr, evra, digest } = value;
  let entry: LockedPackage | undefined;
  if ((evr === undefined) === (evra === undefined)) {
    issues.add(at, "needs exactly one of evr and evra");
  } else if (evra !== undefined) {
    const parsed = typeof evra === "string" ? tryParseEvra(evra) : { ok: false as const, message: `expected a string, got ${showValue(evra)}` };
    if (parsed.ok) entry = { evra: evra as string };
    else issues.add(`${at}.evra`, parsed.message);
  } else {
    const parsed = typeof evr === "string" ? tryParseEvr(evr) : { ok: false as const, message: `expected a string, got ${showValue(evr)}` };
    if (parsed.ok) entry = { evr: evr as string };
    else issues.add(`${at}.evr`, parsed.message);
  }
  if (digest !== undefined) {
    if (typeof digest === "string" && DIGEST.test(digest)) {
      if (entry) entry.digest = digest;
    } else {
      issues.add(`${at}.digest`, `${showValue(digest)} must be sha256:<64 hex digits> or sha512:<128 hex digits>`);
    }
  }
  return entry;
}

/** Package names of a `packages` mapping, validated; entries are read by `read`. */
export function readPackageMap<T>(value: unknown, issues: IssueList, read: (entry: unknown, at: string) => T | undefined): Map<string, T> {
  const packages = new Map<string, T>();
  if (!isMapping(value)) {
    issues.add("packages", "expected a mapping of package names");
    return packages;
  }
  for (const [name, entry] of Object.entries(value)) {
    const at = `packages.${name}`;
    const problem = packageNameProblem(name);
    if (problem !== undefined) {
      issues.add(at, problem);
      continue;
    }
    const parsed = read(entry, at);
    if (parsed !== undefined) packages.set(name, parsed);
  }
  return packages;
}

function readMetadata(value: unknown, issues: IssueList): LockfileMetadata | undefined {
  if (!isMapping(value)) {
    issues.add("metadata", "expected a mapping");
    return undefined;
  }
  unknownKeys(value, ["generated", "rpmmd_repos"], "metadata", issues);
  const metadata: LockfileMetadata = {};
  if (value.generated !== undefined) {
    if (isTimestamp(value.generated)) metadata.generated = value.generated;
    else issues.add("metadata.generated", `${showValue(value.generated)} is not an RFC 3339 time`);
  }
  const repos = value.rpmmd_repos;
  if (repos === undefined) return metadata;
  if (!isMapping(repos)) {
    issues.add("metadata.rpmmd_repos", "expected a mapping of repository ids");
    return metadata;
  }
  metadata.rpmmdRepos = new Map();
  for (const [id, repo] of Object.entries(repos)) {
    const at = `metadata.rpmmd_repos.${id}`;
    if (!REPO_ID.test(id)) issues.add(at, `${showValue(id)} is not a repository id`);
    else if (!isMapping(repo)) issues.add(at, "expected a mapping with generated");
    else {
      unknownKeys(repo, ["generated"], at, issues);
      if (isTimestamp(repo.generated)) metadata.rpmmdRepos.set(id, { generated: repo.generated });
      else issues.add(`${at}.generated`, `${showValue(repo.generated)} is not an RFC 3339 time`);
    }
  }
  return metadata;
}

/** Validate a parsed lockfile; throws a DefinitionError naming every problem. */
export function readLockfile(value: unknown, file: string): Lockfile {
  const issues = new IssueList(file);
  if (!isMapping(value)) {
    issues.add("(file)", "the top level must be a mapping with packages");
    throwIfAny(issues.issues);
  }
  const doc = value as Record<string, unknown>;
  unknownKeys(doc, ["metadata", "packages"], "", issues);
  if (doc.packages === undefined) issues.add("packages", "required");
  const packages = doc.packages === undefined ? new Map<string, LockedPackage>() : readPackageMap(doc.packages, issues, (entry, at) => readLockedPackage(entry, at, issues));
  const lock: Lockfile = { packages };
  if (doc.metadata !== undefined) {
    const metadata = readMetadata(doc.metadata, issues);
    if (metadata) lock.metadata = metadata;
  }
  throwIfAny(issues.issues);
  return lock;
}

/** Parse lockfile text; `file` names it in issues and its extension picks YAML over JSON. */
export function parseLockfile(text: string, file = "manifest-lock.json"): Lockfile {
  return readLockfile(parseOrThrow(text, file), file);
}

export async function loadLockfile(path: string, options?: LoadFileOptions): Promise<Lockfile> {
  const display = displayName(path, options);
  return parseLockfile(await readDefinitionTextOrThrow(path, display), display);
}

/** Load several lockfiles and merge them in order (see mergeLockfiles). */
export async function loadLockfiles(paths: readonly string[], options?: LoadFileOptions): Promise<Lockfile> {
  const locks: Lockfile[] = [];
  for (const path of paths) locks.push(await loadLockfile(path, options));
  return mergeLockfiles(locks);
}

/**
 * Merge lockfiles in order: a later lock's entry replaces an earlier one's, per package
 * name. The metadata is the first lock's, as rpm-ostree keeps it.
 */
export function mergeLockfiles(locks: readonly Lockfile[]): Lockfile {
  const packages = new Map<string, LockedPackage>();
  for (const lock of locks) for (const [name, entry] of lock.packages) packages.set(name, { ...entry });
  const metadata = locks[0]?.metadata;
  return metadata ? { metadata, packages } : { packages };
}

type Json = string | { [key: string]: Json };

function sortedEntries<T>(entries: Iterable<[string, T]>): [string, T][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** JSON with keys sorted at every level, two-space indentation. */
function render(value: Json, indent: string): string {
  if (typeof value === "string") return JSON.stringify(value);
  const entries = sortedEntries(Object.entries(value));
  if (entries.length === 0) return "{}";
  const inner = `${indent}  `;
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${render(v, inner)}`).join(",\n")}\n${indent}}`;
}

/** Build an object without a prototype, so `__proto__` stays an ordinary key. */
function record(entries: Iterable<[string, Json]>): { [key: string]: Json } {
  const out = Object.create(null) as { [key: string]: Json };
  for (const [key, value] of entries) out[key] = value;
  return out;
}

/**
 * The lockfile as rpm-ostree reads it: keys sorted everywhere, two spaces, a final
 * newline. The same lock always gives the same bytes, so a rewritten lockfile only shows
 * real changes in git.
 */
export function serializeLockfile(lock: Lockfile): string {
  const top: [string, Json][] = [];
  if (lock.metadata) {
    const meta: [string, Json][] = [];
    if (lock.metadata.generated !== undefined) meta.push(["generated", lock.metadata.generated]);
    if (lock.metadata.rpmmdRepos) {
      meta.push(["rpmmd_repos", record([...lock.metadata.rpmmdRepos].map(([id, repo]) => [id, record([["generated", repo.generated]])]))]);
    }
    top.push(["metadata", record(meta)]);
  }
  top.push([
    "packages",
    record(
      [...lock.packages].map(([name, entry]) => {
        const fields: [string, Json][] = entry.evra !== undefined ? [["evra", entry.evra]] : [["evr", entry.evr]];
        if (entry.digest !== undefined) fields.push(["digest", entry.digest]);
        return [name, record(fields)];
      }),
    ),
  ]);
  const text = `${render(record(top), "")}\n`;
  // A lock built in code (from a depsolve) is checked like one read from disk, so a bad
  // name or version is never written.
  parseLockfile(text, "(lockfile being written)");
  return text;
}
