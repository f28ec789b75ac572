import { displayName, parseOrThrow, readDefinitionTextOrThrow, type LoadFileOptions } from "./definition-file.js";
import { IssueList, showValue, throwIfAny } from "./errors.js";
import { lockedEvr, lockedVersionText, readLockedPackage, readPackageMap, type LockedPackage, type Lockfile } from "./lockfile.js";
import { compareEvr } from "./rpmvercmp.js";
import { isMapping } from "./source.js";

/**
 * `manifest-lock.overrides.yaml` (coreos-assembler's format), applied after the lockfile:
 * ```yaml
 * packages:
 *   dracut:
 *     evr: 053-5.fc34
 *     metadata: {type: pin, reason: https://tracker.example/issues/842}
 *   ignition:
 *     evr: 2.22.0-2.fc42
 *     metadata: {type: fast-track, bodhi: https://bodhi.example/updates/FEDORA-2025-4b417b05f4}
 * ```
 * A pin holds a package at a version (older ones included) for a stated reason; a
 * fast-track brings a version in ahead of the normal lockfile and retires itself once the
 * lockfile reaches it.
 */

export type OverrideMetadata = { type: "pin"; reason: string } | { type: "fast-track"; bodhi?: string; reason?: string };

export type OverrideEntry = LockedPackage & { metadata: OverrideMetadata };

export interface Overrides {
  packages: Map<string, OverrideEntry>;
}

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol);
}

function readOverrideMetadata(value: unknown, at: string, issues: IssueList): OverrideMetadata | undefined {
  if (!isMapping(value)) {
    issues.add(at, "expected a mapping with type (pin or fast-track)");
    return undefined;
  }
  const { type, reason, bodhi } = value;
  const allowed = type === "fast-track" ? ["type", "reason", "bodhi"] : ["type", "reason"];
  for (const key of Object.keys(value)) if (!allowed.includes(key)) issues.add(`${at}.${key}`, type === "pin" && key === "bodhi" ? "only fast-track entries have bodhi" : "unknown key");
  const reasonOk = typeof reason === "string" && reason.trim() !== "";
  if (reason !== undefined && !reasonOk) issues.add(`${at}.reason`, "must be a non-empty string");
  if (type === "pin") {
    if (reason === undefined) issues.add(`${at}.reason`, "required for a pin: say why the package is held (an issue URL)");
    return reasonOk ? { type, reason } : undefined;
  }
  if (type === "fast-track") {
    const entry: OverrideMetadata = { type };
    if (bodhi !== undefined) {
      if (typeof bodhi === "string" && isHttpUrl(bodhi)) entry.bodhi = bodhi;
      else issues.add(`${at}.bodhi`, `${showValue(bodhi)} is not an http(s) URL`);
    }
    if (reasonOk) entry.reason = reason;
    return entry;
  }
  issues.add(`${at}.type`, type === undefined ? "required (pin or fast-track)" : `${showValue(type)} is not pin or fast-track`);
  return undefined;
}

/** Validate a parsed overrides file. An empty file has no overrides. */
export function readOverrides(value: unknown, file: string): Overrides {
  const issues = new IssueList(file);
  if (value === null || value === undefined) return { packages: new Map() };
  if (!isMapping(value)) {
    issues.add("(file)", "the top level must be a mapping with packages");
    throwIfAny(issues.issues);
  }
  const doc = value as Record<string, unknown>;
  for (const key of Object.keys(doc)) if (key !== "packages") issues.add(key, "unknown key");
  const packages =
    doc.packages === undefined || doc.packages === null
      ? new Map<string, OverrideEntry>()
      : readPackageMap(doc.packages, issues, (entry, at): OverrideEntry | undefined => {
          const locked = readLockedPackage(entry, at, issues, ["metadata"]);
          const raw = isMapping(entry) ? entry.metadata : undefined;
          if (isMapping(entry) && raw === undefined) issues.add(`${at}.metadata`, "required (type: pin or fast-track)");
          const metadata = raw === undefined ? undefined : readOverrideMetadata(raw, `${at}.metadata`, issues);
          return locked && metadata ? { ...locked, metadata } : undefined;
        });
  throwIfAny(issues.issues);
  return { packages };
}

export function parseOverrides(text: string, file = "manifest-lock.overrides.yaml"): Overrides {
  return readOverrides(parseOrThrow(text, file), file);
}

export async function loadOverrides(path: string, options?: LoadFileOptions): Promise<Overrides> {
  const display = displayName(path, options);
  return parseOverrides(await readDefinitionTextOrThrow(path, display), display);
}

/** A fast-track the lockfile has caught up with: it can be removed from the file. */
export interface DroppedFastTrack {
  name: string;
  /** The fast-tracked version (`evr` or `evra`). */
  fastTrack: string;
  /** The version the lockfile already has. */
  locked: string;
}

export interface AppliedOverrides {
  lock: Lockfile;
  droppedFastTracks: DroppedFastTrack[];
}

function versionOnly(entry: OverrideEntry): LockedPackage {
  const version: LockedPackage = entry.evra !== undefined ? { evra: entry.evra } : { evr: entry.evr };
  if (entry.digest !== undefined) version.digest = entry.digest;
  return version;
}

/**
 * The effective lock: the lockfile with the overrides applied. A pin always replaces the
 * locked version. A fast-track replaces it unless the lockfile already has that version
 * or a newer one (compared as rpm does); such fast-tracks are returned so that the caller
 * can remove them from the overrides file. The locked digest is dropped with the version
 * it belonged to.
 */
export function applyOverrides(lock: Lockfile, overrides: Overrides): AppliedOverrides {
  const packages = new Map(lock.packages);
  const droppedFastTracks: DroppedFastTrack[] = [];
  for (const [name, entry] of overrides.packages) {
    const locked = lock.packages.get(name);
    if (entry.metadata.type === "fast-track" && locked && compareEvr(lockedEvr(locked), lockedEvr(entry)) >= 0) {
      droppedFastTracks.push({ name, fastTrack: lockedVersionText(entry), locked: lockedVersionText(locked) });
      continue;
    }
    packages.set(name, versionOnly(entry));
  }
  return { lock: lock.metadata ? { metadata: lock.metadata, packages } : { packages }, droppedFastTracks };
}
