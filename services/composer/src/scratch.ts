// Scratch builds: a change set that changes a package's spec (a dist-git commit touching it, or
// a pull request) is composed with the package built at that commit, not with the last Koji
// build. For each such member: check the dist-git repository out at the commit, fetch its
// lookaside sources (SHA512-checked), `rpmbuild -bb` inside the bubblewrap sandbox (the spec's
// %prep/%build/%install are the change's code: no network, the host read-only, only the build
// tree writable, a time limit, capped output), then put the RPMs into one yum repository per
// change set, which the compose takes as candidates beside the Koji candidates repository.
import { copyFile, lstat, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CandidateSet } from "@atomic-ci/compose";
import type { ChangeSetMember } from "@atomic-ci/messages";
import {
  createrepo,
  distGitLocation,
  fetchLookaside,
  formatNevra,
  gitEnv,
  gitLog,
  gitRevParse,
  isToolError,
  LookasideError,
  queryRpmHeaders,
  readSourcesFile,
  rpmbuild,
  runTool,
  safeGitRev,
  safeRpmName,
  safeRpmVersion,
  SandboxError,
  tail,
  UnsafeArgumentError,
  type ToolContext,
} from "@atomic-ci/tools";
import { checkoutRev } from "./checkout.js";
import type { ComposerSection } from "./config.js";

export type ScratchSettings = ComposerSection["scratchBuilds"];

/** A change set member whose package must be built at its commit. */
export interface ScratchMember {
  kind: "dist-git-commit" | "pull-request";
  /** Source package name (the dist-git repository's name). */
  package: string;
  /** `namespace/name`, e.g. `rpms/bash`. */
  repo: string;
  rev: string;
  prUrl?: string;
}

export interface ScratchBuild extends ScratchMember {
  /** `name-version-release` of the source package built. */
  nvr: string;
  /** The binary RPMs, `name-[E:]V-R.arch`. */
  rpms: string[];
}

export type ScratchOutcome =
  | { type: "built"; builds: ScratchBuild[]; set?: CandidateSet }
  /** The change's fault: the spec does not build (or names sources nobody uploaded). Acked, never retried. */
  | { type: "build-failure"; reason: string; member: ScratchMember }
  /** The change set cannot be built as given (two heads of one package, a name that is not one). */
  | { type: "compose-failure"; reason: string }
  | { type: "infrastructure-error"; reason: string };

/**
 * The members to build: dist-git commits touching the spec and pull requests on a package,
 * except packages the change set also has a Koji build of (that build is the package's
 * version here). A tests-only commit needs no build. One per repository and commit.
 */
export function scratchMembers(members: readonly ChangeSetMember[]): ScratchMember[] {
  const built = new Set(members.flatMap((m) => (m.kind === "build" ? [m.package] : [])));
  const out = new Map<string, ScratchMember>();
  for (const m of members) {
    let member: ScratchMember | undefined;
    if (m.kind === "dist-git-commit" && m.touches.includes("spec")) member = { kind: m.kind, package: m.package, repo: m.repo, rev: m.rev };
    if (m.kind === "pull-request" && m.package !== undefined) member = { kind: m.kind, package: m.package, repo: m.repo, rev: m.rev, prUrl: m.pr_url };
    if (member && !built.has(member.package)) out.set(`${member.repo}@${member.rev}`, member);
  }
  return [...out.values()].sort((a, b) => a.repo.localeCompare(b.repo) || a.rev.localeCompare(b.rev));
}

export interface BuildScratchOptions {
  settings: ScratchSettings;
  /** A fresh directory of this compose; removed by the caller. */
  dir: string;
  tools: ToolContext;
}

const LOG_TAIL_BYTES = 3000;

/** Build every member and make the repository; the first failure ends it. */
export async function buildScratch(members: readonly ScratchMember[], options: BuildScratchOptions): Promise<ScratchOutcome> {
  if (members.length === 0) return { type: "built", builds: [] };
  const { settings } = options;
  if (!settings.distGit) return { type: "infrastructure-error", reason: "composer.scratchBuilds.distGit is not configured, and the change set changes a package's spec" };
  const byPackage = new Map<string, ScratchMember[]>();
  for (const m of members) byPackage.set(m.repo, [...(byPackage.get(m.repo) ?? []), m]);
  const chosen: ScratchMember[] = [];
  for (const [repo, list] of byPackage) {
    const one = list.length === 1 ? list[0] : await newestHead(repo, list, settings.distGit, options);
    if (one === undefined) return { type: "compose-failure", reason: `the change set has ${list.length} commits of ${repo} (${list.map((m) => m.rev.slice(0, 12)).join(", ")}) and none contains the others: which one to build is ambiguous` };
    if ("type" in one) return one;
    chosen.push(one);
  }

  const repoDir = join(options.dir, "repo");
  await mkdir(repoDir, { recursive: true });
  const builds: ScratchBuild[] = [];
  let newest = 0;
  for (const member of chosen) {
    const one = await buildOne(member, settings.distGit, repoDir, options);
    if (one.type !== "built") return one;
    builds.push(one.build);
    newest = Math.max(newest, one.epoch);
  }
  try {
    // The newest commit's time as repomd's revision: the same builds give the same metadata.
    await createrepo({ dir: repoDir, revision: newest, env: options.tools.env, ...(options.tools.timeoutMs === undefined ? {} : { timeoutMs: options.tools.timeoutMs }) });
  } catch (err) {
    return { type: "infrastructure-error", reason: `createrepo_c on the scratch builds failed: ${message(err)}` };
  }
  const set: CandidateSet = { repo: { id: settings.repoId, url: pathToFileURL(repoDir).href }, nevras: builds.flatMap((b) => b.rpms).sort(), preferred: true };
  return { type: "built", builds, set };
}

/**
 * Several commits of one package in one change set (two pushes in a batching window, a push and
 * a pull request on top of it): the one whose history contains all the others is what they add
 * up to, so it is built. Undefined when there is none (diverging heads).
 */
async function newestHead(repo: string, list: readonly ScratchMember[], distGit: string, options: BuildScratchOptions): Promise<ScratchMember | undefined | { type: "compose-failure" | "infrastructure-error"; reason: string }> {
  const [first] = list;
  if (first === undefined) return undefined;
  const dest = join(options.dir, "heads", repo.replace("/", "-"));
  try {
    // One clone holds every head: a local repository's objects are shared, a pull request's head is fetched.
    await checkoutRev({ repo: distGitLocation(distGit, repo), rev: first.rev, dest }, options.tools);
    const isAncestor = async (a: string, b: string) =>
      (await runTool("git", ["-C", dest, "merge-base", "--is-ancestor", safeGitRev(a), safeGitRev(b)], { env: gitEnv(options.tools.env), timeoutMs: 60_000, okExitCodes: [0, 1] })).code === 0;
    const present = async () => (await Promise.all(list.map((m) => gitRevParse(dest, m.rev, options.tools).then(() => true, () => false)))).every(Boolean);
    if (!(await present())) {
      await runTool("git", ["-C", dest, "fetch", "--quiet", "origin", "+refs/pull/*/head:refs/remotes/origin/pull/*"], { env: gitEnv(options.tools.env), timeoutMs: options.tools.timeoutMs ?? 120_000 });
      if (!(await present())) return { type: "infrastructure-error", reason: `not every commit of ${repo} in the change set can be fetched (${list.map((m) => m.rev.slice(0, 12)).join(", ")})` };
    }
    for (const candidate of list) {
      const others = list.filter((m) => m.rev !== candidate.rev);
      if ((await Promise.all(others.map((m) => isAncestor(m.rev, candidate.rev)))).every(Boolean)) return candidate;
    }
    return undefined;
  } catch (err) {
    if (err instanceof UnsafeArgumentError) return { type: "compose-failure", reason: err.message };
    return { type: "infrastructure-error", reason: `cannot fetch the commits of ${repo}: ${message(err)}` };
  }
}

type One = { type: "built"; build: ScratchBuild; epoch: number } | Exclude<ScratchOutcome, { type: "built" }>;

async function buildOne(member: ScratchMember, distGit: string, repoDir: string, options: BuildScratchOptions): Promise<One> {
  const { settings, tools } = options;
  const where = `${member.repo} at ${member.rev.slice(0, 12)}`;
  // The head stays short and the log tail bounded, so the whole reason fits compose.error's cap.
  const failure = (reason: string, log?: string): One => ({ type: "build-failure", member, reason: `build-failure: ${where}: ${reason.slice(0, 600)}${log ? `\n--- build log (last lines) ---\n${log}` : ""}` });

  let location: string;
  let name: string;
  try {
    location = distGitLocation(distGit, member.repo);
    name = safeRpmName(basename(location), "dist-git repository name");
  } catch (err) {
    if (err instanceof UnsafeArgumentError) return { type: "compose-failure", reason: err.message };
    throw err;
  }
  const base = join(options.dir, name);
  const src = join(base, "src");
  const topdir = join(base, "top");
  let epoch: number;
  try {
    await checkoutRev({ repo: location, rev: member.rev, dest: src }, tools);
    const [entry] = await gitLog(src, { ...tools, rev: member.rev, maxCount: 1 });
    epoch = Math.floor(Date.parse(entry?.committer.date ?? "") / 1000);
    if (!Number.isFinite(epoch)) throw new Error(`no committer date for ${member.rev}`);
  } catch (err) {
    if (err instanceof UnsafeArgumentError) return { type: "compose-failure", reason: err.message };
    return { type: "infrastructure-error", reason: `cannot fetch ${where} from ${location}: ${message(err)}` };
  }

  const spec = join(src, `${name}.spec`);
  const isFile = await lstat(spec).then((s) => s.isFile(), () => false);
  if (!isFile) return failure(`there is no ${name}.spec (a regular file) at that commit`);

  try {
    const sources = await readSourcesFile(src);
    if (sources.length > 0) {
      if (!settings.lookaside) return { type: "infrastructure-error", reason: `composer.scratchBuilds.lookaside is not configured, and ${where} has lookaside sources` };
      await fetchLookaside({ base: settings.lookaside, name, sources, dest: src });
    }
  } catch (err) {
    if (err instanceof LookasideError && err.changeAtFault) return failure(err.message);
    return { type: "infrastructure-error", reason: `cannot fetch the lookaside sources of ${where}: ${message(err)}` };
  }

  let rpms: string[];
  try {
    ({ rpms } = await rpmbuild({
      env: tools.env,
      timeoutMs: settings.timeoutMs,
      spec,
      topdir,
      sourceDir: src,
      defines: settings.macros,
      reproducible: { sourceDateEpoch: epoch, buildHost: settings.buildHost },
      sandbox: { maxOutputBytes: settings.maxOutputBytes },
    }));
  } catch (err) {
    if (err instanceof SandboxError) return { type: "infrastructure-error", reason: `the build sandbox did not start: ${err.message}` };
    if (isToolError(err) && err.code === "TOOL_FAILED" && err.exitCode !== null) return failure(err.message, logTail(err.stdout, err.stderr));
    // The spec's code ran too long or said too much: its fault, and a retry would do it again.
    if (isToolError(err, "TOOL_TIMEOUT")) return failure(`the build did not finish within ${settings.timeoutMs} ms`, logTail(err.stdout, err.stderr));
    if (isToolError(err, "TOOL_OUTPUT_LIMIT")) return failure(`the build wrote more than ${settings.maxOutputBytes} bytes of output`, logTail("", err.stderr));
    return { type: "infrastructure-error", reason: `rpmbuild of ${where} could not run: ${message(err)}` };
  }
  if (rpms.length === 0) return failure("the build made no binary packages");

  let headers;
  try {
    headers = await queryRpmHeaders(rpms, tools);
  } catch (err) {
    return failure(`the built packages cannot be read: ${message(err)}`);
  }
  const nevras: string[] = [];
  let nvr = "";
  for (const h of headers) {
    try {
      safeRpmName(h.name, "built package name");
      safeRpmVersion(h.version, "built package version");
      safeRpmVersion(h.release, "built package release");
      safeRpmName(h.arch, "built package arch");
    } catch (err) {
      return failure(message(err));
    }
    const source = /^(.+)-[^-]+-[^-]+\.src\.rpm$/.exec(h.sourceRpm);
    // The spec of rpms/<name> must build <name>: a spec renaming itself would put another package in the host.
    if (source?.[1] !== name) {
      return failure(`the spec builds ${h.sourceRpm}, which is not a source package of ${name}`);
    }
    nvr = h.sourceRpm.replace(/\.src\.rpm$/, "");
    nevras.push(formatNevra(h));
    await copyFile(h.path, join(repoDir, basename(h.path)));
  }
  return { type: "built", epoch, build: { ...member, package: name, nvr, rpms: nevras.sort() } };
}

function logTail(stdout: string, stderr: string): string {
  return tail(`${stdout.trimEnd()}\n${stderr.trimEnd()}`.trim(), LOG_TAIL_BYTES);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
