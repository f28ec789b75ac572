import { readFile } from "node:fs/promises";
import type { Breakage, RepoName, TestsKind } from "./model.js";
import type { WorldContainers } from "./containers-oci.js";

/**
 * world.json: the index of a built fixture world, so other code finds packages, builds,
 * repositories and repositories' commits without knowing how the world was generated.
 * Paths are absolute (the world lives in a cache directory and embeds its own location).
 */
export interface WorldRpm {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
  /** `name-[E:]V-R.arch` */
  nevra: string;
  /** `[E:]V-R.arch`, as rpm-ostree lockfiles write it. */
  evra: string;
  path: string;
  /** Repodata checksum `sha256:<hex of the file>` (the lockfile digest). */
  digest: string;
  /** SHA256HEADER of the package header (the key of a package cache). */
  headerSha256: string;
}

/** One koji-style build: a dist-git commit built into one or more RPMs. */
export interface WorldBuild {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  nvr: string;
  repo: RepoName;
  /** Commit, build start and SOURCE_DATE_EPOCH. */
  date: string;
  buildId: number;
  taskId: number;
  distGit: {
    /** Local repository (non-bare, branch `branch`). */
    path: string;
    commit: string;
    branch: string;
    /** `git+https://…/rpms/<name>.git#<commit>`, as koji records a build's source. */
    source: string;
    url: string;
  };
  rpms: WorldRpm[];
  tests: TestsKind;
  broken?: Breakage;
  /** NVRs that must be in the same change set for this build to install. */
  needs?: string[];
}

export interface WorldRepo {
  /** The repo id the host definition's `.repo` file uses. */
  id: string;
  path: string;
  url: string;
}

export interface WorldHostDefinition {
  /** Local git repository (non-bare). */
  path: string;
  /** Repository name in git.receive messages. */
  name: string;
  branch: string;
  commit: string;
  /** The top-level treefile, and the file it includes. */
  treefile: string;
  baseTreefile: string;
  lockfile: string;
  overrides: string;
  /** The ref with `${basearch}` expanded. */
  ref: string;
  /** Names the treefiles ask for. */
  packages: string[];
  /** Every package a compose of this definition installs (the lockfile's names), sorted. */
  resolved: string[];
}

export interface WorldSynthetic {
  count: number;
  repo: WorldRepo;
  hostDefinition: WorldHostDefinition;
  packages: { name: string; nevra: string; path: string; requires: string[] }[];
}

export interface World {
  format: number;
  hash: string;
  root: string;
  releasever: number;
  dist: string;
  basearch: string;
  repos: { stable: WorldRepo; candidates: WorldRepo };
  kernel: {
    kver: string;
    /** The NEVRA of the kernel-core RPM carrying vmlinuz and the initramfs. */
    package: string;
    vmlinuz: string;
    initramfs: string;
    bootModules: string[];
    extraModules: string[];
    initramfsPaths: string[];
    /** The machine files it was made from. */
    from: { vmlinuz: string; modulesDir: string };
  };
  busybox: { version: string; from: string; applets: number };
  distGit: { root: string; urlBase: string; branch: string };
  /** The lookaside store of the `sources` files: `<root>/<name>/<file>/sha512/<hash>/<file>`. */
  lookaside: { root: string; url: string };
  koji: { url: string; candidateTag: string; instance: string };
  hostDefinition: WorldHostDefinition;
  packages: { name: string; distGit: string; tests: TestsKind; builds: string[] }[];
  builds: WorldBuild[];
  broken: (Breakage & { nvr: string })[];
  /** A HOME whose .rpmmacros puts dnf's rpmdb where Fedora keeps it (Debian's rpm defaults to ~/.rpmdb). */
  dnfHome: string;
  /** Key container images: OCI layouts in an image store, the good ones listed in containers.yaml. */
  containers: WorldContainers;
  synthetic?: WorldSynthetic;
  buildSeconds: number;
}

export async function loadWorld(manifest: string): Promise<World> {
  return JSON.parse(await readFile(manifest, "utf8")) as World;
}

export function findBuild(world: World, nvr: string): WorldBuild {
  const build = world.builds.find((b) => b.nvr === nvr);
  if (!build) throw new Error(`no build ${nvr} in the fixture world`);
  return build;
}

/** The newest build of a package in a repo (builds are listed oldest first). */
export function latestBuild(world: World, name: string, repo: RepoName = "stable"): WorldBuild {
  const builds = world.builds.filter((b) => b.name === name && b.repo === repo);
  const build = builds[builds.length - 1];
  if (!build) throw new Error(`no ${repo} build of ${name} in the fixture world`);
  return build;
}
