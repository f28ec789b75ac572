// The `!RemoteRule` port: a koji_build's gating.yaml, read with git from its dist-git
// repository (`<baseDir>/rpms/<name>`, or a mirror of the forge's) at the commit the build was
// made from.
import { join } from "node:path";
import type { RemoteGatingYaml, Subject } from "@atomic-ci/gating";
import { nvrPackageName } from "@atomic-ci/messages";
import { DirectoryDistGit, gitLog, gitShowFile, isToolError, type DistGitRepos, type ToolContext } from "@atomic-ci/tools";

export const GATING_YAML = "gating.yaml";

/** `name-version-release` → its version and release. */
export function splitNvr(nvr: string): { name: string; version: string; release: string } | undefined {
  const match = /^(.+)-([^-]+)-([^-]+)$/.exec(nvr);
  return match?.[1] && match[2] && match[3] ? { name: match[1], version: match[2], release: match[3] } : undefined;
}

/** Does this spec text build `version-release`? `%{?dist}` is expanded with the NVR's own dist tag (`.fc41`). */
export function specBuilds(spec: string, version: string, release: string): boolean {
  const specVersion = /^Version:\s*(\S+)\s*$/m.exec(spec)?.[1];
  const specRelease = /^Release:\s*(\S+)\s*$/m.exec(spec)?.[1];
  if (specVersion === undefined || specRelease === undefined) return false;
  const dist = /\.(?:fc|el|eln)\d*[^.]*$/.exec(release)?.[0] ?? "";
  const expanded = specRelease.replace(/%\{\??dist\}|%dist\b/g, dist);
  return specVersion === version && expanded === release;
}

export interface DistGitOptions {
  /** `<baseDir>/rpms/<name>` clones (when `repos` is not given). */
  baseDir?: string | undefined;
  /** The packages' repositories (e.g. mirrors of src.fedoraproject.org); wins over baseDir. */
  repos?: DistGitRepos | undefined;
  /** Branch searched when no result names the build's commit. */
  branch: string;
  tools: ToolContext;
  /** The commit a result named for the build (`data.dist_git_commit` / `data.source`). */
  commitHint(nvr: string): Promise<string | undefined>;
  /** Keep gating.yaml per repository and commit (default true; false only to measure what it saves). */
  cache?: boolean;
}

/** Not there at that commit: git says so on stderr (any other failure is a fetch error). */
function isMissingPath(err: unknown): boolean {
  return isToolError(err) && err.code === "TOOL_FAILED" && /does not exist|exists on disk, but not in/.test(err.stderr);
}

/** gating.yaml texts (or their absence) kept per repository and commit: a commit never changes. */
const KEPT_GATING_YAML = 10_000;

export class DistGit {
  private readonly commits = new Map<string, string>();
  private readonly gatingYamls = new Map<string, RemoteGatingYaml>();
  /** repository + NVR → the branch head at which no commit building it was found. */
  private readonly searched = new Map<string, string>();
  /** `git show` runs so far (the benchmark and tests read it). */
  gitShows = 0;

  private readonly repos: DistGitRepos | undefined;

  constructor(private readonly options: DistGitOptions) {
    this.repos = options.repos ?? (options.baseDir === undefined ? undefined : new DirectoryDistGit(join(options.baseDir, "rpms")));
  }

  /** The DecisionPorts.remoteGatingYaml of the gatekeeper. */
  async gatingYaml(subject: Subject): Promise<RemoteGatingYaml> {
    if (subject.type !== "koji_build") return { found: false };
    if (!this.repos) return { error: "neither gatekeeper.distGit.baseDir nor distGit.url is configured" };
    const name = nvrPackageName(subject.identifier);
    let repo: string | undefined;
    try {
      repo = await this.repos.path(name);
    } catch (err) {
      return { error: `cannot reach the dist-git repository rpms/${name}: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (repo === undefined) return { error: `no dist-git repository rpms/${name}` };
    let commit: string | undefined;
    try {
      commit = await this.commitOf(repo, subject.identifier);
    } catch (err) {
      return { error: `cannot read the history of rpms/${name}: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!commit) return { error: `no commit on ${this.options.branch} of rpms/${name} builds ${subject.identifier}` };
    const key = `${repo}\u0000${commit}`;
    const cached = this.gatingYamls.get(key);
    if (cached) return cached;
    let found: RemoteGatingYaml;
    try {
      this.gitShows++;
      const text = await gitShowFile(repo, commit, GATING_YAML, this.options.tools);
      found = { found: true, text, source: `rpms/${name}.git@${commit}:${GATING_YAML}` };
    } catch (err) {
      // A failure to read is not kept: the next decision tries again.
      if (!isMissingPath(err)) return { error: `git show ${commit}:${GATING_YAML} in rpms/${name} failed: ${err instanceof Error ? err.message : String(err)}` };
      found = { found: false };
    }
    if (this.options.cache === false) return found;
    if (this.gatingYamls.size >= KEPT_GATING_YAML) this.gatingYamls.delete(this.gatingYamls.keys().next().value as string);
    this.gatingYamls.set(key, found);
    return found;
  }

  /** The build's commit: named by a result, else the newest commit on the branch whose spec builds that version-release. */
  private async commitOf(repo: string, nvr: string): Promise<string | undefined> {
    const hinted = await this.options.commitHint(nvr);
    if (hinted) return hinted;
    const cached = this.commits.get(nvr);
    if (cached) return cached;
    const parts = splitNvr(nvr);
    if (!parts) return undefined;
    const log = await gitLog(repo, { ...this.options.tools, rev: this.options.branch });
    // Searched before at this branch head and not found: the history has not changed since.
    const head = log[0]?.commit;
    if (head !== undefined && this.searched.get(`${repo}\u0000${nvr}`) === head) return undefined;
    for (const entry of log) {
      let spec: string;
      try {
        this.gitShows++;
        spec = await gitShowFile(repo, entry.commit, `${parts.name}.spec`, this.options.tools);
      } catch (err) {
        if (isMissingPath(err)) continue;
        throw err;
      }
      if (specBuilds(spec, parts.version, parts.release)) {
        this.commits.set(nvr, entry.commit);
        return entry.commit;
      }
    }
    if (head !== undefined) this.searched.set(`${repo}\u0000${nvr}`, head);
    return undefined;
  }
}
