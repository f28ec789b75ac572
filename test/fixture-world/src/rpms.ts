import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatNevra, queryRpmHeaders, rpmbuild, rpmFileDigest, type ToolContext } from "@atomic-ci/tools";
import type { WorldRpm } from "./manifest.js";
import type { PackageVersion, SourcePackage } from "./model.js";
import { DIST, nvrOf } from "./model.js";
import { renderSpec } from "./spec.js";

/**
 * Macros of the fixture's "build system" (koji's mock config, in Fedora): the dist tag, and no
 * post-install processing — no stripping (busybox is stripped already; modules must stay as
 * shipped), no debuginfo, no build-id links — which also keeps a build at a fraction of a second.
 */
export const BUILD_MACROS: Readonly<Record<string, string>> = {
  dist: DIST,
  __os_install_post: "%{nil}",
  debug_package: "%{nil}",
  _build_id_links: "none",
  // zstd like Fedora's payloads, at a fast level: the kernel's payload dominates build time.
  _binary_payload: "w3.zstdio",
  // rpmbuild packages subpackages on an OpenMP thread pool whose idle threads spin: on two
  // busy cores that tripled the CPU time of a 100-subpackage build. We run builds in parallel
  // ourselves instead.
  _smp_build_nthreads: "1",
};

export const BUILD_HOST = "buildvm.fixture.invalid";

/**
 * Build one version of a source package (`rpmbuild -bb` in a private topdir), writing RPMs
 * into `rpmDir/<arch>/`. The spec is the one committed to dist-git for this version.
 */
export async function buildVersion(
  pkg: SourcePackage,
  v: PackageVersion,
  options: { workDir: string; rpmDir: string; ctx: ToolContext },
): Promise<string[]> {
  const topdir = join(options.workDir, nvrOf(pkg, v));
  const sourceDir = join(topdir, "SOURCES");
  await mkdir(join(topdir, "SPECS"), { recursive: true });
  await mkdir(sourceDir, { recursive: true });
  for (const source of pkg.sources ?? []) await symlink(source.path, join(sourceDir, source.name));
  const spec = join(topdir, "SPECS", `${pkg.name}.spec`);
  await writeFile(spec, renderSpec(pkg, v, pkg.versions));
  const { rpms } = await rpmbuild({
    ...options.ctx,
    spec,
    topdir,
    sourceDir,
    rpmDir: options.rpmDir,
    defines: BUILD_MACROS,
    reproducible: { sourceDateEpoch: Math.floor(Date.parse(v.date) / 1000), buildHost: BUILD_HOST },
  });
  return rpms;
}

/** Headers and digests of built packages (one rpm call), as world.json records them. */
export async function describeRpms(paths: readonly string[], ctx: ToolContext): Promise<WorldRpm[]> {
  const headers = await queryRpmHeaders(paths, ctx);
  return Promise.all(
    headers.map(async (h) => ({
      name: h.name,
      epoch: h.epoch,
      version: h.version,
      release: h.release,
      arch: h.arch,
      nevra: formatNevra(h),
      evra: `${h.epoch ? `${h.epoch}:` : ""}${h.version}-${h.release}.${h.arch}`,
      path: h.path,
      digest: await rpmFileDigest(h.path),
      headerSha256: h.sha256Header,
    })),
  );
}
