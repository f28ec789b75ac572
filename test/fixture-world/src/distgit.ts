import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gitAdd, gitCommit, gitInit, type ToolContext } from "@atomic-ci/tools";
import type { PackageVersion, SourcePackage } from "./model.js";
import { PACKAGER, renderSpec } from "./spec.js";

/** Branch every fixture dist-git repository builds from (Fedora's release branch for f41). */
export const DIST_GIT_BRANCH = "f41";
/** Where the fixture's dist-git would be served: never resolves (`.invalid`), only names things. */
export const DIST_GIT_URL = "https://src.fixture.invalid";
/** The test case a passing dist-git test run reports, and what every gating.yaml requires. */
export const PACKAGE_TEST_CASE = "fedora-ci.koji-build.tier0.functional";

export function distGitCommitUrl(name: string, commit: string): string {
  return `${DIST_GIT_URL}/rpms/${name}/c/${commit}`;
}

/** Key of a commit in the `commits` map: `<name>@<version>`. */
export function commitKey(name: string, version: string): string {
  return `${name}@${version}`;
}

/**
 * Write a package's dist-git repository: one commit per version, oldest first, each with the
 * spec, tests and gating.yaml of that version. `commits` resolves `{commit:<name>@<version>}`
 * in commit messages and receives this package's commits.
 */
export async function writeDistGit(pkg: SourcePackage, dir: string, ctx: ToolContext, commits: Map<string, string>): Promise<void> {
  await gitInit(dir, { ...ctx, branch: DIST_GIT_BRANCH });
  const sources = await lookasideLines(pkg);
  for (const v of pkg.versions) {
    await rm(join(dir, "tests"), { recursive: true, force: true });
    for (const [path, content] of Object.entries(distGitFiles(pkg, v, sources))) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content, { mode: path.endsWith(".sh") ? 0o755 : 0o644 });
    }
    await gitAdd(dir, ctx);
    const body = v.commitBody?.replace(/\{commit:([^@}]+)@([^}]+)\}/g, (_, name: string, version: string) => {
      const commit = commits.get(commitKey(name, version));
      if (!commit) throw new Error(`${pkg.name} ${v.version}: commit of ${name} ${version} is not known yet`);
      return distGitCommitUrl(name, commit);
    });
    const author = { name: PACKAGER.name, email: PACKAGER.email, date: new Date(v.date) };
    const commit = await gitCommit(dir, { ...ctx, author, message: `${v.changelog}\n${body ? `\n${body}\n` : ""}` });
    commits.set(commitKey(pkg.name, v.version), commit);
  }
}

/** The files of one version's dist-git tree, path → content. */
export function distGitFiles(pkg: SourcePackage, v: PackageVersion, sources: string): Record<string, string> {
  const files: Record<string, string> = {
    [`${pkg.name}.spec`]: renderSpec(pkg, v, pkg.versions),
    "gating.yaml": gatingYaml(pkg.tests !== "none"),
  };
  if (sources) files["sources"] = sources;
  const smoke = pkg.smoke?.(v);
  if (pkg.tests === "none" || !smoke) return files;
  files["tests/smoke.sh"] = smoke;
  const requires = pkg.testRequires ?? [pkg.name];
  if (pkg.tests === "sti") {
    files["tests/tests.yml"] = stiTests(requires, pkg.testTags);
  } else {
    files[".fmf/version"] = "1\n";
    files["plans/smoke.fmf"] = `summary: Smoke test of ${pkg.name} on the composed Atomic Host\ndiscover:\n  how: fmf\nexecute:\n  how: tmt\n`;
    files["tests/main.fmf"] = [
      `summary: ${pkg.name} works on the host`,
      "test: ./smoke.sh",
      "require:",
      ...requires.map((r) => `  - ${r}`),
      "duration: 5m",
      "tag:",
      "  - atomic",
      ...(pkg.testTags ?? []).map((t) => `  - ${t}`),
      "",
    ].join("\n");
  }
  return files;
}

/** Standard Test Interface playbook (standard-test-basic), tagged `atomic` so it runs on the host. */
function stiTests(requires: readonly string[], tags: readonly string[] = []): string {
  return [
    "- hosts: localhost",
    "  roles:",
    "    - role: standard-test-basic",
    "      tags:",
    "        - atomic",
    ...tags.map((t) => `        - ${t}`),
    "      required_packages:",
    ...requires.map((r) => `        - ${r}`),
    "      tests:",
    "        - simple:",
    "            dir: .",
    "            run: ./smoke.sh",
    "",
  ].join("\n");
}

/** A maintainer's gating.yaml: the tier0 functional result gates the build; a package without tests requires none. */
export function gatingYaml(hasTests: boolean): string {
  return [
    "--- !Policy",
    "product_versions:",
    "  - fedora-*",
    "decision_contexts:",
    "  - bodhi_update_push_testing",
    "subject_type: koji_build",
    hasTests ? `rules:\n  - !PassingTestCaseRule {test_case_name: ${PACKAGE_TEST_CASE}}` : "rules: []",
    "",
  ].join("\n");
}

/** dist-git's `sources` file: SHA512 of each lookaside file (what fedpkg would upload). */
async function lookasideLines(pkg: SourcePackage): Promise<string> {
  const lines: string[] = [];
  for (const source of pkg.sources ?? []) lines.push(`SHA512 (${source.name}) = ${await sha512(source.path)}\n`);
  return lines.join("");
}

function sha512(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha512");
    createReadStream(path)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/**
 * The lookaside store dist-git's `sources` files point into, in Fedora's layout:
 * `<dir>/<name>/<file>/sha512/<hash>/<file>` (src.fedoraproject.org/repo/pkgs/rpms/...), so a
 * build of a dist-git commit (the composer's scratch builds) can fetch what the spec needs.
 */
export async function writeLookasideStore(catalog: readonly SourcePackage[], dir: string): Promise<void> {
  for (const pkg of catalog) {
    for (const source of pkg.sources ?? []) {
      const target = join(dir, pkg.name, source.name, "sha512", await sha512(source.path));
      await mkdir(target, { recursive: true });
      await copyFile(source.path, join(target, source.name));
    }
  }
}
