// The effective lock of a definition (lockfile + overrides), and the new lockfile a compose writes.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { applyOverrides, loadLockfile, loadOverrides, serializeLockfile, type LockedPackage, type Lockfile } from "@atomic-ci/host-definition";
import type { ResolvedPackage } from "./result.js";
import type { DnfRepo } from "./tools/dnf.js";

export const lockfileName = (basearch: string): string => `manifest-lock.${basearch}.json`;
export const OVERRIDES_NAME = "manifest-lock.overrides.yaml";

/** Both files are optional: without them nothing is locked. */
export async function loadDefinitionLock(dir: string, basearch: string): Promise<Lockfile> {
  const lockPath = join(dir, lockfileName(basearch));
  const overridesPath = join(dir, OVERRIDES_NAME);
  const lock = existsSync(lockPath) ? await loadLockfile(lockPath, { root: dir }) : { packages: new Map<string, LockedPackage>() };
  if (!existsSync(overridesPath)) return lock;
  return applyOverrides(lock, await loadOverrides(overridesPath, { root: dir })).lock;
}

/** rpm-ostree's lockfile for what was resolved: every package with its evra and file digest. */
export function newLockfile(packages: readonly ResolvedPackage[], repos: readonly DnfRepo[], now: Date): string {
  const generated = now.toISOString().replace(/\.\d+Z$/, "Z");
  return serializeLockfile({
    metadata: { generated, rpmmdRepos: new Map(repos.map((r) => [r.id, { generated }])) },
    packages: new Map(packages.map((p) => [p.name, { evra: p.evra, digest: p.digest }])),
  });
}
