import { loadLockfile, loadTreefile } from "@atomic-ci/host-definition";
import { ConfigError } from "@atomic-ci/runtime";
import type { TriggerListenerConfig } from "./config.js";

export interface HostPackages {
  /** Every name: the explicit list, the treefile's and the lockfile's. */
  names: Set<string>;
  /** How many came from where (for the start-up log line). */
  counts: { explicit: number; treefile?: number; lockfile?: number };
}

/**
 * The host's package names: `triggerListener.hostPackages` plus the names of the treefile's
 * `packages` (includes followed) and of the lockfile's packages, when those files are
 * configured. A file that does not load is a configuration error naming the key and the file.
 */
export async function loadHostPackages(section: TriggerListenerConfig["triggerListener"]): Promise<HostPackages> {
  const names = new Set(section.hostPackages);
  const counts: HostPackages["counts"] = { explicit: section.hostPackages.length };
  const { treefile, lockfile, basearch } = section.definition;
  if (treefile !== undefined) {
    const loaded = await definitionFile("treefile", treefile, () => loadTreefile(treefile, { basearch }));
    const found = loaded.treefile.packageSpecs.map((p) => p.name);
    counts.treefile = new Set(found).size;
    for (const name of found) names.add(name);
  }
  if (lockfile !== undefined) {
    const loaded = await definitionFile("lockfile", lockfile, () => loadLockfile(lockfile));
    counts.lockfile = loaded.packages.size;
    for (const name of loaded.packages.keys()) names.add(name);
  }
  return { names, counts };
}

async function definitionFile<T>(key: "treefile" | "lockfile", path: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError([{ path: `triggerListener.definition.${key}`, source: "host definition", message: `cannot load ${path}: ${why}` }]);
  }
}
