import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema } from "../schema.js";
import { sortedUnique } from "./common.js";

const SCHEMA_PACKAGE = "pagure_messages";

export const PagureUser = z.looseObject({
  name: z.string(),
  fullname: z.string(),
  url_path: z.string(),
}).meta({ id: "PagureUser" });
export type PagureUser = z.output<typeof PagureUser>;

/** pagure-messages' PROJECT (a dist-git repository on src.fedoraproject.org). */
export const PagureProject = z.looseObject({
  id: z.number(),
  name: z.string(),
  fullname: z.string(),
  full_url: z.string(),
  url_path: z.string(),
  description: z.string(),
  namespace: z.string().nullable(),
  date_created: z.string(),
  date_modified: z.string(),
  user: PagureUser,
  tags: z.array(z.string()),
  close_status: z.array(z.string()),
  milestones: z.record(z.string(), z.unknown()).nullable(),
}).meta({ id: "PagureProject" });
export type PagureProject = z.output<typeof PagureProject>;

/** pagure-messages' PULL_REQUEST. `repo_from` is the fork (upstream only checks its user-like fields). */
export const PagurePullRequest = z.looseObject({
  id: z.number(),
  uid: z.string(),
  title: z.string(),
  full_url: z.string(),
  branch: z.string(),
  project: PagureProject,
  branch_from: z.string(),
  repo_from: PagureUser.nullable(),
  remote_git: z.string().nullable(),
  date_created: z.string(),
  updated_on: z.string(),
  last_updated: z.string(),
  closed_at: z.string().nullable(),
  user: PagureUser,
  assignee: PagureUser.nullable(),
  status: z.string(),
  commit_start: z.string().nullable(),
  commit_stop: z.string().nullable(),
  closed_by: PagureUser.nullable(),
  initial_comment: z.string().nullable(),
  cached_merge_status: z.string(),
  threshold_reached: z.boolean().nullable(),
  tags: z.array(z.string()),
}).meta({ id: "PagurePullRequest" });
export type PagurePullRequest = z.output<typeof PagurePullRequest>;

/** Body of `pagure.pull-request.new` and `pagure.pull-request.updated`. */
export const PagurePullRequestEvent = z.looseObject({
  agent: z.string(),
  pullrequest: PagurePullRequest,
});
export type PagurePullRequestEvent = z.output<typeof PagurePullRequestEvent>;

export const PAGURE_PULL_REQUEST_NEW_TOPIC = "pagure.pull-request.new";
export const PAGURE_PULL_REQUEST_UPDATED_TOPIC = "pagure.pull-request.updated";

/** What a CI needs to test a pull request: target repository and branch, and the head commit. */
export interface PullRequestRef {
  namespace: string | null;
  repo: string;
  branch: string;
  id: number;
  url: string;
  /** Last commit of the PR (`commit_stop`); null until Pagure computed it. */
  head: string | null;
  /** Fork the PR comes from (`forks/<user>/<namespace>/<repo>`), or null for a remote PR. */
  fork: string | null;
}

export function pullRequestRef(body: PagurePullRequestEvent): PullRequestRef {
  const pr = body.pullrequest;
  const fork = (pr.repo_from as { fullname?: unknown } | null)?.fullname;
  return {
    namespace: pr.project.namespace,
    repo: pr.project.name,
    branch: pr.branch,
    id: pr.id,
    url: pr.full_url,
    head: pr.commit_stop,
    fork: typeof fork === "string" ? fork : null,
  };
}

function usernames(body: PagurePullRequestEvent): string[] {
  return sortedUnique([body.agent, body.pullrequest.user.name, body.pullrequest.assignee?.name]);
}

export const PagurePullRequestNewMessage = defineSchema({
  name: "pagure.pull-request.new",
  schemaPackage: SCHEMA_PACKAGE,
  topic: PAGURE_PULL_REQUEST_NEW_TOPIC,
  body: PagurePullRequestEvent,
  description: "A pull request was opened on a dist-git repository.",
  agentName: (body) => body.agent,
  usernames,
  summary: (body) =>
    `${body.agent} opened a pull-request ${body.pullrequest.project.fullname}#${body.pullrequest.id}: ` +
    body.pullrequest.title,
});

export const PagurePullRequestUpdatedMessage = defineSchema({
  name: "pagure.pull-request.updated",
  schemaPackage: SCHEMA_PACKAGE,
  topic: PAGURE_PULL_REQUEST_UPDATED_TOPIC,
  body: PagurePullRequestEvent,
  description: "A pull request on a dist-git repository got new commits.",
  agentName: (body) => body.agent,
  usernames,
  summary: (body) =>
    `${body.agent} updated the pull-request ${body.pullrequest.project.fullname}#${body.pullrequest.id}`,
});

export const PAGURE_FAMILY: MessageFamily = {
  id: "pagure",
  title: "Pagure pull requests",
  description: "Pull-request messages from Pagure on src.fedoraproject.org (schemas of pagure-messages).",
  schemas: [PagurePullRequestNewMessage, PagurePullRequestUpdatedMessage],
};
