// What a compose answers. Failures are values, not exceptions: the pipeline reports a
// verdict about the change (compose-failure) differently from a broken machine
// (infrastructure-error, worth a retry).

export interface ResolvedPackage {
  name: string;
  /** 0 when the package has none (as rpm-ostree's pkglist writes it). */
  epoch: number;
  version: string;
  release: string;
  arch: string;
  /** `name-[E:]V-R.arch` */
  nevra: string;
  /** `[E:]V-R.arch`, as lockfiles write it. */
  evra: string;
  /** `sha256:` of the whole file (the repodata checksum): the lockfile digest. */
  digest: string;
  /** SHA256HEADER: the package cache key. */
  headerSha256: string;
  /**
   * The RPM file: dnf's download inside the compose's work directory (gone when the compose
   * returns), or, when the resolution came from the depsolve cache, the file in its local
   * repository ("" for a remote one).
   */
  path: string;
}

export interface PackageDiff {
  added: string[];
  removed: string[];
  /** `name: old-evra → new-evra` */
  changed: { name: string; from: string; to: string }[];
}

export interface Composed {
  type: "composed";
  ref: string;
  commit: string;
  version: string;
  /** Unix seconds of the commit. */
  timestamp: number;
  inputHash: string;
  /** True when a commit with this input hash already existed: nothing was committed. */
  reused: boolean;
  parent?: string;
  packages: ResolvedPackage[];
  pkgdiff: PackageDiff;
  /** The new lockfile text (rpm-ostree format). */
  lockfile: string;
  /** Where the compose JSON was written. */
  composeJson: string;
  /** Packages imported into the package cache by this compose (the rest were cached). */
  imported: string[];
  /** Step → milliseconds: `load`, then `depsolve` (dnf ran) or `depsolveCache` (a cache hit), ..., `total`. */
  timings: Record<string, number>;
  /** True when dnf did not run: the resolution came from the repository's depsolve cache. */
  depsolveCached?: boolean;
}

export interface ComposeFailure {
  type: "compose-failure";
  reason: string;
  /** The capability nothing provides, e.g. `libndp >= 1.9`. */
  missingDependency?: string;
  /** The package that needs it, or the request no repository matches. */
  package?: string;
}

export interface InfrastructureError {
  type: "infrastructure-error";
  reason: string;
}

export type ComposeResult = Composed | ComposeFailure | InfrastructureError;
