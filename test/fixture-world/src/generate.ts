import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { createrepo, type ToolContext } from "@atomic-ci/tools";
import type { BusyboxInfo } from "./busybox.js";
import { fixtureCatalog, HOST_PACKAGES, hostPackageNames } from "./catalog/index.js";
import { writeContainerImages } from "./containers-oci.js";
import { commitKey, DIST_GIT_BRANCH, DIST_GIT_URL, distGitCommitUrl, writeDistGit, writeLookasideStore } from "./distgit.js";
import { BASE_REF, HOST_DEFINITION_BRANCH, HOST_DEFINITION_NAME, BASE_TREEFILE, LOCKFILE, OVERRIDES, TREEFILE, writeHostDefinition } from "./hostdef.js";
import { stageKernel, type KernelLocation } from "./kernel/stage.js";
import type { World, WorldBuild, WorldRepo, WorldRpm } from "./manifest.js";
import { CANDIDATE_TAG, KOJI_URL } from "./messages.js";
import { BASEARCH, DIST, nvrOf, RELEASEVER, releaseOf, type PackageVersion, type RepoName, type SourcePackage } from "./model.js";
import { pool } from "./pool.js";
import { buildVersion, describeRpms } from "./rpms.js";
import { buildSynthetic } from "./synthetic-build.js";

export interface GenerateInput {
  /** Where everything is written now. */
  tmp: string;
  /** Where it will be once published: every path recorded in the world is under here. */
  root: string;
  hash: string;
  kernel: KernelLocation;
  busybox: BusyboxInfo;
  synthetic: number;
  ctx: ToolContext;
  jobs: number;
  log: (line: string) => void;
}

/** Time the initramfs and module tarball are stamped with (the kernel build's date). */
const KERNEL_EPOCH = Date.parse("2024-10-15T06:00:00Z") / 1000;
/** The host definition's commit: after the last stable build. */
const HOST_DEFINITION_DATE = new Date("2024-10-23T12:00:00Z");

export async function generateWorld(input: GenerateInput): Promise<World> {
  const started = Date.now();
  const { tmp, root, ctx } = input;
  const final = (path: string): string => join(root, relative(tmp, path));
  const work = join(tmp, "work");

  const lookaside = join(work, "lookaside");
  await mkdir(lookaside, { recursive: true });
  await copyFile(input.busybox.path, join(lookaside, "busybox"));
  const kernelInput = await stageKernel(input.kernel, input.busybox.path, join(work, "kernel"), { env: ctx.env, mtime: KERNEL_EPOCH });
  const catalog = fixtureCatalog({ ...input.busybox, path: join(lookaside, "busybox") }, kernelInput);
  input.log(`staged kernel ${kernelInput.kver} and busybox ${input.busybox.version} (${Date.now() - started} ms)`);

  const jobs = catalog.flatMap((pkg) => pkg.versions.map((v) => ({ pkg, v })));
  const commits = new Map<string, string>();
  const distGitRoot = join(tmp, "dist-git", "rpms");
  const [, built] = await Promise.all([
    writeAllDistGit(catalog, distGitRoot, ctx, commits, input.jobs).then(() => writeLookasideStore(catalog, join(tmp, "lookaside", "rpms"))),
    pool(jobs, input.jobs, ({ pkg, v }) => buildVersion(pkg, v, { workDir: join(work, "build"), rpmDir: join(tmp, "repos", v.repo, "Packages"), ctx })),
  ]);
  input.log(`built ${built.flat().length} RPMs from ${jobs.length} builds, ${catalog.length} dist-git repositories (${Date.now() - started} ms)`);

  const revisions: Record<RepoName, number> = { stable: 0, candidates: 0 };
  for (const { v } of jobs) revisions[v.repo] = Math.max(revisions[v.repo], Date.parse(v.date) / 1000);
  await Promise.all(
    (["stable", "candidates"] as const).map((repo) => createrepo({ ...ctx, dir: join(tmp, "repos", repo), revision: revisions[repo] })),
  );
  const described = new Map((await describeRpms(built.flat(), ctx)).map((rpm) => [rpm.path, { ...rpm, path: final(rpm.path) }]));

  const describedAt = (path: string): WorldRpm => {
    const rpm = described.get(path);
    if (!rpm) throw new Error(`rpm did not describe ${path}`);
    return rpm;
  };
  const builds = jobs
    .map(({ pkg, v }, i) => ({ pkg, v, rpms: (built[i] ?? []).map(describedAt) }))
    .sort((a, b) => Date.parse(a.v.date) - Date.parse(b.v.date))
    .map(({ pkg, v, rpms }, i) => worldBuild(pkg, v, rpms, i, join(root, "dist-git", "rpms", pkg.name), commits));

  const repo = (name: RepoName): WorldRepo => ({ id: `fixture-${name}`, path: join(root, "repos", name), url: `file://${join(root, "repos", name)}` });
  const repos = { stable: repo("stable"), candidates: repo("candidates") };
  const lock = stableLock(builds);
  const generated = new Date(revisions.stable * 1000).toISOString().replace(".000Z", "Z");
  const containers = await writeContainerImages({ dir: join(tmp, "images"), root: join(root, "images"), work: join(work, "images"), busybox: input.busybox.path, ctx });
  const hostDir = join(tmp, "host-definition");
  const commit = await writeHostDefinition(
    {
      dir: hostDir,
      repos: [{ id: repos.stable.id, name: "Fixture world: Fedora 41 stable (atomic-ci)", url: repos.stable.url }],
      topPackages: HOST_PACKAGES.top,
      lock,
      generated,
      date: HOST_DEFINITION_DATE,
      containers: containers.definition,
    },
    ctx,
  );

  const dnfHome = join(tmp, "dnf-home");
  await mkdir(dnfHome, { recursive: true });
  await writeFile(join(dnfHome, ".rpmmacros"), "%_dbpath /usr/lib/sysimage/rpm\n");

  const synthetic =
    input.synthetic > 0
      ? await buildSynthetic({ count: input.synthetic, tmp, root, stable: repos.stable, baseLock: lock, generated, date: HOST_DEFINITION_DATE, ctx, jobs: input.jobs, workDir: join(work, "synthetic") })
      : undefined;
  if (synthetic) input.log(`built ${synthetic.count} synthetic packages (${Date.now() - started} ms)`);
  await rm(work, { recursive: true, force: true });

  const kernelCore = builds.flatMap((b) => b.rpms).find((r) => r.name === "kernel-core");
  const modulesDir = `/usr/lib/modules/${kernelInput.kver}`;
  return {
    format: 1,
    hash: input.hash,
    root,
    releasever: RELEASEVER,
    dist: DIST,
    basearch: BASEARCH,
    repos,
    kernel: {
      kver: kernelInput.kver,
      package: kernelCore?.nevra ?? "",
      vmlinuz: `${modulesDir}/vmlinuz`,
      initramfs: `${modulesDir}/initramfs.img`,
      bootModules: kernelInput.bootModules,
      extraModules: kernelInput.extraModules,
      initramfsPaths: kernelInput.initramfsPaths,
      from: { vmlinuz: input.kernel.vmlinuz, modulesDir: input.kernel.modulesDir },
    },
    busybox: { version: input.busybox.version, from: input.busybox.path, applets: input.busybox.applets.length },
    distGit: { root: join(root, "dist-git", "rpms"), urlBase: DIST_GIT_URL, branch: DIST_GIT_BRANCH },
    lookaside: { root: join(root, "lookaside", "rpms"), url: `file://${join(root, "lookaside", "rpms")}` },
    koji: { url: KOJI_URL, candidateTag: CANDIDATE_TAG, instance: "primary" },
    hostDefinition: {
      path: join(root, "host-definition"),
      name: HOST_DEFINITION_NAME,
      branch: HOST_DEFINITION_BRANCH,
      commit,
      treefile: join(root, "host-definition", TREEFILE),
      baseTreefile: join(root, "host-definition", BASE_TREEFILE),
      lockfile: join(root, "host-definition", LOCKFILE),
      overrides: join(root, "host-definition", OVERRIDES),
      ref: BASE_REF.replace("${basearch}", BASEARCH),
      packages: hostPackageNames(),
      resolved: lock.map((r) => r.name).sort(),
    },
    packages: catalog.map((pkg) => ({
      name: pkg.name,
      distGit: join(root, "dist-git", "rpms", pkg.name),
      tests: pkg.tests,
      builds: pkg.versions.map((v) => nvrOf(pkg, v)),
    })),
    builds,
    broken: builds.flatMap((b) => (b.broken ? [{ nvr: b.nvr, ...b.broken }] : [])),
    dnfHome: join(root, "dnf-home"),
    containers: containers.world,
    ...(synthetic ? { synthetic } : {}),
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/** dist-git repositories; those whose commit messages name other commits (Depends-On) go second. */
async function writeAllDistGit(catalog: SourcePackage[], dir: string, ctx: ToolContext, commits: Map<string, string>, jobs: number): Promise<void> {
  const refersToOthers = (pkg: SourcePackage) => pkg.versions.some((v) => v.commitBody?.includes("{commit:"));
  for (const wave of [catalog.filter((p) => !refersToOthers(p)), catalog.filter(refersToOthers)]) {
    await pool(wave, jobs, (pkg) => writeDistGit(pkg, join(dir, pkg.name), ctx, commits));
  }
}

function worldBuild(pkg: SourcePackage, v: PackageVersion, rpms: WorldRpm[], index: number, distGit: string, commits: Map<string, string>): WorldBuild {
  const commit = commits.get(commitKey(pkg.name, v.version));
  if (!commit) throw new Error(`${nvrOf(pkg, v)} has no dist-git commit`);
  return {
    name: pkg.name,
    epoch: pkg.epoch ?? null,
    version: v.version,
    release: releaseOf(v),
    nvr: nvrOf(pkg, v),
    repo: v.repo,
    date: v.date,
    buildId: 4_100_001 + index,
    taskId: 125_000_000 + index * 10,
    distGit: {
      path: distGit,
      commit,
      branch: DIST_GIT_BRANCH,
      source: `git+${DIST_GIT_URL}/rpms/${pkg.name}.git#${commit}`,
      url: distGitCommitUrl(pkg.name, commit),
    },
    rpms: rpms.sort((a, b) => (a.name < b.name ? -1 : 1)),
    tests: pkg.tests,
    ...(v.broken ? { broken: v.broken } : {}),
    ...(v.needs ? { needs: v.needs } : {}),
  };
}

/** The newest stable RPM of every name: what the host's lockfile pins. */
function stableLock(builds: readonly WorldBuild[]): WorldRpm[] {
  const lock = new Map<string, WorldRpm>();
  for (const build of builds) if (build.repo === "stable") for (const rpm of build.rpms) lock.set(rpm.name, rpm);
  return [...lock.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
