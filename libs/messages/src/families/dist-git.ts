import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema } from "../schema.js";

export const GIT_RECEIVE_TOPIC = "git.receive";

const GitStats = z.looseObject({
  /** Per-file line counts keyed by path: the list of files a push touched. */
  files: z.record(z.string(), z.unknown()),
  total: z
    .looseObject({
      additions: z.number().optional(),
      deletions: z.number().optional(),
      lines: z.number().optional(),
      files: z.number().optional(),
    })
    .optional(),
});

const commitCommon = {
  name: z.string(),
  email: z.string(),
  username: z.string(),
  summary: z.string(),
  message: z.string(),
  stats: GitStats,
  rev: z.string(),
  path: z.string(),
  repo: z.string(),
  namespace: z.string().nullable(),
  branch: z.string(),
};

/** Today's body, fedora-messaging-git-hook-messages CommitV1: `agent` on top, `date`, `patch` and `url` in the commit. */
export const GitReceiveHook = z.looseObject({
  agent: z.string(),
  commit: z.looseObject({
    ...commitCommon,
    date: z.string(),
    patch: z.string(),
    url: z.string().nullable(),
  }),
});
export type GitReceiveHook = z.output<typeof GitReceiveHook>;

/** The fedmsg-era body (2017 and before): the pusher is `commit.agent`, no date or patch. */
export const GitReceiveFedmsg = z.looseObject({
  commit: z.looseObject({
    ...commitCommon,
    agent: z.string(),
    seen: z.boolean().optional(),
  }),
});
export type GitReceiveFedmsg = z.output<typeof GitReceiveFedmsg>;

/** Body of `git.receive` in either form; use {@link normalizeGitReceive} to read it. */
export const GitReceive = z.union([GitReceiveHook, GitReceiveFedmsg]);
export type GitReceive = z.output<typeof GitReceive>;

/** One push to dist-git, whatever form the message had. */
export interface DistGitPush {
  repo: string;
  namespace: string | null;
  branch: string;
  rev: string;
  /** Account that pushed (the hook's `agent`; the fedmsg form's `commit.agent`). */
  agent: string;
  /** Account of the commit's author as the hook resolved it. */
  username: string;
  summary: string;
  message: string;
  /** Paths the commit touched, from the keys of `stats.files`, sorted. */
  files: string[];
  date?: string;
  url?: string | null;
}

export function normalizeGitReceive(body: GitReceive): DistGitPush {
  const { commit } = body;
  const agent = "agent" in body && typeof body.agent === "string" ? body.agent : (commit as { agent?: string }).agent;
  const push: DistGitPush = {
    repo: commit.repo,
    namespace: commit.namespace,
    branch: commit.branch,
    rev: commit.rev,
    agent: agent ?? commit.username,
    username: commit.username,
    summary: commit.summary,
    message: commit.message,
    files: Object.keys(commit.stats.files).sort(),
  };
  if (typeof commit.date === "string") push.date = commit.date;
  if ("url" in commit && (typeof commit.url === "string" || commit.url === null)) push.url = commit.url;
  return push;
}

/** dist-git namespaces whose repo name is an artifact name, as CommitV1 maps them. */
const NAMESPACE_ARTIFACT = {
  rpms: "packages",
  container: "containers",
  modules: "modules",
  flatpaks: "flatpaks",
} as const;

function artifactsOf(kind: (typeof NAMESPACE_ARTIFACT)[keyof typeof NAMESPACE_ARTIFACT]) {
  return (body: GitReceive): string[] => {
    const ns = body.commit.namespace;
    return ns && ns in NAMESPACE_ARTIFACT && NAMESPACE_ARTIFACT[ns as keyof typeof NAMESPACE_ARTIFACT] === kind
      ? [body.commit.repo]
      : [];
  };
}

export const GitReceiveMessage = defineSchema({
  name: "fedora_messaging_git_hook.commit.v1",
  schemaPackage: "fedora_messaging_git_hook_messages",
  topic: GIT_RECEIVE_TOPIC,
  body: GitReceive,
  description: "A commit was pushed to a dist-git repository (hook form or 2017 fedmsg form).",
  agentName: (body) => normalizeGitReceive(body).agent,
  usernames: (body) => [normalizeGitReceive(body).agent],
  groups: (body) => {
    const group = (body as { group?: unknown }).group;
    return typeof group === "string" && group ? [group] : [];
  },
  packages: artifactsOf("packages"),
  containers: artifactsOf("containers"),
  modules: artifactsOf("modules"),
  flatpaks: artifactsOf("flatpaks"),
  summary: (body) => {
    const push = normalizeGitReceive(body);
    const repo = push.namespace ? `${push.namespace}/${push.repo}` : push.repo;
    return `${push.agent} pushed to ${repo} (${push.branch}). "${push.summary}"`;
  },
});

export const DIST_GIT_FAMILY: MessageFamily = {
  id: "dist-git",
  title: "dist-git pushes",
  description: "Pushes to src.fedoraproject.org (fedora-messaging-git-hook, and the fedmsg hook before it).",
  schemas: [GitReceiveMessage],
};
