import type { GitReceiveHook, KojiBuildStateChange, KojiTag, KojiTaskInfo } from "@atomic-ci/messages";
import { basename } from "node:path";
import { gitCommitFiles, gitLog, gitPatch, type ToolContext } from "@atomic-ci/tools";
import { DIST_GIT_BRANCH, distGitCommitUrl } from "./distgit.js";
import type { World, WorldBuild } from "./manifest.js";
import { PACKAGER } from "./spec.js";

/**
 * Messages about the fixture world's builds and commits, shaped like the real ones (the koji
 * and git-hook schemas in @atomic-ci/messages), so a consumer cannot tell them from Fedora's
 * except by the `.invalid` host names. Nothing is published here: callers send them.
 */
export interface FixtureMessage<B> {
  topic: string;
  body: B;
}

export const KOJI_URL = "https://koji.fixture.invalid";
export const KOJI_FILES_URL = "https://kojipkgs.fixture.invalid/work";
export const KOJI_BUILD_TARGET = "f41-candidate";
/** Where a finished build is tagged (Fedora: f41-updates-candidate), the tag the pipeline watches. */
export const CANDIDATE_TAG = "f41-updates-candidate";
const TAG_IDS: Record<string, number> = { f41: 6310, "f41-updates": 6311, "f41-updates-candidate": 6312, "f41-updates-testing": 6313 };

/** A stable id for a tag without a fixed one (7000–7999). */
function tagId(tag: string): number {
  let h = 7;
  for (let i = 0; i < tag.length; i++) h = (h * 31 + tag.charCodeAt(i)) | 0;
  return 7000 + (Math.abs(h) % 1000);
}

/** Python's isoformat with an explicit UTC offset, as koji writes times. */
function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "+00:00");
}

/** `buildsys.build.state.change` for a build going BUILDING → COMPLETE. */
export function kojiBuildComplete(build: WorldBuild): FixtureMessage<KojiBuildStateChange> {
  const created = Date.parse(build.date) + 60_000;
  const completed = created + 10 * 60_000;
  const request = [build.distGit.source, KOJI_BUILD_TARGET, {}];
  return {
    topic: "buildsys.build.state.change",
    body: {
      attribute: "state",
      base_url: KOJI_URL,
      build_id: build.buildId,
      completion_time: isoTime(completed),
      creation_time: isoTime(created),
      epoch: build.epoch,
      files_base_url: KOJI_FILES_URL,
      instance: "primary",
      name: build.name,
      new: 1,
      old: 0,
      owner: PACKAGER.user,
      release: build.release,
      request,
      task: buildTask(build, request, created, completed),
      task_id: build.taskId,
      url: `${KOJI_URL}/koji/buildinfo?buildID=${build.buildId}`,
      version: build.version,
    },
  };
}

/** The build task and its children (SRPM from SCM, one buildArch per arch), as koji reports them. */
function buildTask(build: WorldBuild, request: unknown[], created: number, completed: number): KojiTaskInfo {
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const task = (id: number, method: string, arch: string, label: string | null, result: KojiTaskInfo["result"]): KojiTaskInfo => ({
    arch,
    awaited: false,
    channel_id: 1,
    children: [],
    completion_time: seconds(completed) - 30,
    create_time: seconds(created),
    host_id: 101,
    host_name: "buildvm-x86-01.fixture.invalid",
    id,
    label,
    method,
    owner: PACKAGER.user,
    parent: build.taskId,
    priority: 19,
    result,
    start_time: seconds(created) + 5,
    state: 2,
    url: `${KOJI_URL}/koji/taskinfo?taskID=${id}`,
    waiting: null,
  });
  const dir = (id: number) => `tasks/${id % 10000}/${id}`;
  const srpm = `${build.nvr}.src.rpm`;
  const srpmId = build.taskId + 1;
  const arches = [...new Set(build.rpms.map((r) => r.arch))];
  const children = [
    task(srpmId, "buildSRPMFromSCM", "noarch", "srpm", {
      brootid: build.buildId,
      logs: [`${dir(srpmId)}/build.log`, `${dir(srpmId)}/root.log`],
      source: { source: build.distGit.source, url: build.distGit.source },
      srpm: `${dir(srpmId)}/${srpm}`,
    }),
    ...arches.map((arch, i) => {
      const id = build.taskId + 2 + i;
      return task(id, "buildArch", arch, arch, {
        brootid: build.buildId + 1 + i,
        logs: [`${dir(id)}/build.log`, `${dir(id)}/root.log`],
        rpms: build.rpms.filter((r) => r.arch === arch).map((r) => `${dir(id)}/${basename(r.path)}`),
        srpms: [`${dir(id)}/${srpm}`],
      });
    }),
  ];
  return {
    ...task(build.taskId, "build", "noarch", null, null),
    awaited: null,
    children,
    completion_time: seconds(completed),
    parent: null,
    priority: 20,
    request,
    waiting: true,
  };
}

/** `buildsys.tag`: the build was tagged (by default into the candidate tag the pipeline watches). */
export function kojiTag(build: WorldBuild, tag: string = CANDIDATE_TAG): FixtureMessage<KojiTag> {
  return {
    topic: "buildsys.tag",
    body: {
      base_url: KOJI_URL,
      build_id: build.buildId,
      instance: "primary",
      name: build.name,
      owner: PACKAGER.user,
      release: build.release,
      tag,
      tag_id: TAG_IDS[tag] ?? tagId(tag),
      user: PACKAGER.user,
      version: build.version,
    },
  };
}

/**
 * `git.receive` in today's hook form for a commit of a dist-git repository (a package name)
 * or of the host definition (its repository name), with the touched files in `stats.files`.
 */
export async function gitReceive(world: World, repo: string, commit: string, ctx: ToolContext): Promise<FixtureMessage<GitReceiveHook>> {
  const isDefinition = repo === world.hostDefinition.name;
  const path = isDefinition ? world.hostDefinition.path : world.packages.find((p) => p.name === repo)?.distGit;
  if (!path) throw new Error(`no repository ${repo} in the fixture world`);
  const [entry] = await gitLog(path, { ...ctx, rev: commit, maxCount: 1 });
  if (!entry) throw new Error(`${repo}: no commit ${commit}`);
  const stats = await gitCommitFiles(path, entry.commit, ctx);
  const files = Object.fromEntries(
    stats.map((s) => [s.path, { additions: s.additions ?? 0, deletions: s.deletions ?? 0, lines: (s.additions ?? 0) + (s.deletions ?? 0) }]),
  );
  const total = stats.reduce(
    (t, s) => ({ additions: t.additions + (s.additions ?? 0), deletions: t.deletions + (s.deletions ?? 0), lines: t.lines + (s.additions ?? 0) + (s.deletions ?? 0), files: t.files + 1 }),
    { additions: 0, deletions: 0, lines: 0, files: 0 },
  );
  return {
    topic: "git.receive",
    body: {
      agent: PACKAGER.user,
      commit: {
        name: entry.author.name,
        email: entry.author.email,
        username: PACKAGER.user,
        summary: entry.subject,
        message: entry.message,
        stats: { files, total },
        rev: entry.commit,
        path,
        repo,
        namespace: isDefinition ? null : "rpms",
        branch: isDefinition ? world.hostDefinition.branch : DIST_GIT_BRANCH,
        patch: await gitPatch(path, entry.commit, ctx),
        date: entry.author.date,
        url: isDefinition ? null : distGitCommitUrl(repo, entry.commit),
      },
    },
  };
}
