// What dnf is asked to install, so that the lock is enforced by the request itself:
// every locked name is requested at its locked version (dnf then cannot pick another one,
// however new), the change set's candidates replace their names' lock entries, and the
// treefile's unlocked entries go as written.
import { lockedEvr, parseNevra, type Lockfile, type Nevra, type Treefile } from "@atomic-ci/host-definition";

export interface Requests {
  /** dnf install arguments. */
  install: string[];
  /** Candidate NEVRAs made visible in the candidates repo. */
  visibleCandidates: string[];
  /** Names whose lock entry a candidate replaced. */
  replacedLocks: string[];
}

function evrText(evr: { epoch?: number; version: string; release: string }): string {
  return `${evr.epoch === undefined ? "" : `${evr.epoch}:`}${evr.version}-${evr.release}`;
}

/** Validated NEVRAs of the change set's RPMs (throws DefinitionError on a bad one). */
export function parseCandidates(nevras: readonly string[]): Nevra[] {
  return nevras.map((text, i) => parseNevra(text, { file: "(change set)", key: `candidates.${i}` }));
}

/** A candidate as dnf is asked for it and as `includepkgs` lists it: `name-[E:]V-R.arch`. */
export function candidateRequest(c: Nevra): string {
  return `${c.name}-${evrText(c)}.${c.arch}`;
}

export function buildRequests(treefile: Treefile, lock: Lockfile, candidates: readonly Nevra[]): Requests {
  const wanted = new Set([...lock.packages.keys(), ...treefile.packageSpecs.map((s) => s.name)]);
  const byName = new Map<string, Nevra>();
  for (const c of candidates) byName.set(c.name, c);
  const install = new Set<string>();
  const replacedLocks: string[] = [];
  for (const [name, entry] of lock.packages) {
    if (byName.has(name)) {
      replacedLocks.push(name);
      continue;
    }
    const evr = lockedEvr(entry);
    install.add(entry.evra !== undefined ? `${name}-${evrText(evr)}.${entry.evra.slice(entry.evra.lastIndexOf(".") + 1)}` : `${name}-${evrText(evr)}`);
  }
  for (const spec of treefile.packageSpecs) {
    if (!lock.packages.has(spec.name) && !byName.has(spec.name)) install.add(spec.spec);
  }
  const visibleCandidates: string[] = [];
  for (const c of candidates) {
    const nevra = candidateRequest(c);
    visibleCandidates.push(nevra);
    // A subpackage the host does not have (a -devel) stays available as a dependency but is not asked for.
    if (wanted.has(c.name)) install.add(nevra);
  }
  return { install: [...install].sort(), visibleCandidates: visibleCandidates.sort(), replacedLocks: replacedLocks.sort() };
}
