/**
 * The vocabulary of the fixture world's catalogue: source packages (one dist-git repository
 * and one spec each), their versions (one dist-git commit and one build each), and the binary
 * packages a build produces.
 */

/** A file a binary package installs. Content is inline: every payload is tiny except busybox and the kernel. */
export type FileEntry =
  | { path: string; content: string; mode?: number }
  | { path: string; symlink: string }
  | { path: string; dir: true; mode?: number }
  /** Installed from a lookaside source file (`SourceN:` in the spec), e.g. the busybox binary. */
  | { path: string; source: string; mode?: number }
  /** Already placed by the package's extra %install lines (a tarball extraction): only listed in %files. */
  | { path: string; listed: true };

export interface BinaryPackage {
  name: string;
  summary: string;
  /** Per-subpackage `BuildArch: noarch` inside an x86_64 build. */
  noarch?: boolean;
  requires?: string[];
  provides?: string[];
  conflicts?: string[];
  files: FileEntry[];
}

export type RepoName = "stable" | "candidates";

/** How a build is broken on purpose, recorded in world.json for tests and demos. */
export type Breakage =
  /** The build installs and depsolves but fails its own dist-git tests. */
  | { kind: "own-tests"; detail: string }
  /** Fine alone, broken when installed together with the named builds (NVRs). */
  | { kind: "together"; with: string[]; detail: string }
  /** Requires something no repository provides. */
  | { kind: "depsolve"; missing: string; detail: string };

export interface PackageVersion {
  version: string;
  /** Release (a number, or e.g. the kernel ABI number); the dist tag is appended. Default 1. */
  release?: number | string;
  repo: RepoName;
  /** Commit date, build time and SOURCE_DATE_EPOCH (UTC, ISO 8601). */
  date: string;
  /** First line of the dist-git commit and the %changelog entry. */
  changelog: string;
  /** Extra paragraphs of the commit message (e.g. a `Depends-On:` footer); may name `{commit:<pkg>@<version>}`. */
  commitBody?: string;
  broken?: Breakage;
  /** Builds (NVRs) that must travel with this one for it to install (a dependency on a newer partner). */
  needs?: string[];
}

export type TestsKind = "sti" | "tmt" | "none";

/** Lookaside file a build needs (what dist-git's `sources` file lists). */
export interface LookasideSource {
  name: string;
  /** Absolute path of the file as staged for the build. */
  path: string;
}

export interface SourcePackage {
  name: string;
  epoch?: number;
  summary: string;
  description: string;
  license: string;
  url: string;
  arch: "noarch" | "x86_64";
  tests: TestsKind;
  /** Body of `tests/smoke.sh` for a version (runs inside the composed host as root, busybox sh). */
  smoke?: (v: PackageVersion) => string;
  /** Packages the tests need (STI `required_packages`, tmt `require`). */
  testRequires?: string[];
  /** Tags besides `atomic` on the package's tests: `image` also runs them in the booted qcow2 (docs/images.md §8). */
  testTags?: string[];
  versions: PackageVersion[];
  binaries: (v: PackageVersion) => BinaryPackage[];
  sources?: LookasideSource[];
  /** Extra %install lines (run before the generated file installs); `{source:NAME}` becomes `%{SOURCEn}`. */
  installScript?: string[];
  /** Only the subpackages are real packages: the main one gets no %files (so rpmbuild skips it). */
  noMainPackage?: boolean;
  /** Spec preamble lines (e.g. `AutoReqProv: no`). */
  preamble?: string[];
}

export const DIST = ".fc41";
export const RELEASEVER = 41;
export const BASEARCH = "x86_64";

export function releaseOf(v: PackageVersion): string {
  return `${v.release ?? 1}${DIST}`;
}

export function nvrOf(pkg: { name: string }, v: PackageVersion): string {
  return `${pkg.name}-${v.version}-${releaseOf(v)}`;
}
