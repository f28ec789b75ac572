import { createHash } from "node:crypto";
import { z } from "zod";
import { nonEmptyString } from "./common.js";

/**
 * Parts shared by the pipeline's own messages (`pipeline.*` topics). Every body carries
 * `version` (this spec's version, as Fedora CI messages do) and `generated_at`, so a stored
 * message says by itself which shape it has and when it was made.
 */
export const PIPELINE_SPEC_VERSION = "1.0.0";

export const PipelineSpecVersion = z
  .string()
  .regex(/^\d+\.\d+\.\d+$/, "must be a semantic version like 1.0.0")
  .describe(`Version of the pipeline message spec; currently ${PIPELINE_SPEC_VERSION}.`);

export const PipelineGeneratedAt = z.iso.datetime({ offset: true }).describe("When the message was made (ISO 8601).");

/** `cs-` + 16 lowercase hex digits: see {@link changeSetIdOf}. */
export const ChangeSetId = z
  .string()
  .regex(/^cs-[0-9a-f]{16}$/, "must be cs- and 16 lowercase hex digits")
  .describe("Change set id: cs- + the first 16 hex digits of sha256 over its sorted member identities.");

/** Where a message came from: lets anyone find the upstream event again. */
const source = {
  source_message_id: nonEmptyString.describe("message_id of the upstream message that brought this member"),
  source_topic: nonEmptyString.describe("Full routing key of that message"),
};

/** `namespace/name` of a dist-git (or other git forge) repository, e.g. `rpms/bash`. */
const RepoPath = z.string().regex(/^[^/\s]+\/[^/\s]+$/, "must be namespace/name");
/** A repository that may have no namespace (a host definition repository such as `fedora-atomic`): `name` or `namespace/name`. */
const AnyRepoPath = z.string().regex(/^[^/\s]+(\/[^/\s]+)?$/, "must be name or namespace/name");
const GitRev = z.string().regex(/^[0-9a-f]{40}$/, "must be a full 40-hex git commit id");

export const ChangeSetBuildMember = z.looseObject({
  kind: z.literal("build"),
  package: nonEmptyString.describe("Source package name (Koji build name)"),
  nvr: nonEmptyString.describe("name-version-release of the Koji build"),
  build_id: z.int().nullable().optional().describe("Koji build id, when the upstream message had one"),
  ...source,
});

export const ChangeSetCommitMember = z.looseObject({
  kind: z.literal("dist-git-commit"),
  package: nonEmptyString,
  repo: RepoPath.describe("dist-git repository, e.g. rpms/bash"),
  branch: nonEmptyString,
  rev: GitRev,
  /** Which relevant files the push touched; `tests` only = a test change, no rebuild implied. */
  touches: z.array(z.enum(["spec", "tests", "gating"])).min(1),
  ...source,
});

export const ChangeSetDefinitionMember = z.looseObject({
  kind: z.literal("definition-commit"),
  repo: AnyRepoPath.describe("The host definition repository (name, or namespace/name)"),
  branch: nonEmptyString,
  rev: GitRev,
  ...source,
});

export const ChangeSetPullRequestMember = z.looseObject({
  kind: z.literal("pull-request"),
  /** Absent for a pull request on the definition repository. */
  package: nonEmptyString.optional(),
  repo: AnyRepoPath.describe("Target repository of the pull request (a definition repository may have no namespace)"),
  branch: nonEmptyString.describe("Target branch"),
  pr_url: z.url().describe("The pull request's page, e.g. https://src.fedoraproject.org/rpms/bash/pull-request/7"),
  rev: GitRev.describe("Head commit of the pull request"),
  ...source,
});

export const ChangeSetOperatorMember = z.looseObject({
  kind: z.literal("operator-request"),
  action: z.enum(["compose", "rerun"]),
  requested_by: nonEmptyString,
  ...source,
});

export const ChangeSetMember = z
  .discriminatedUnion("kind", [
    ChangeSetBuildMember,
    ChangeSetCommitMember,
    ChangeSetDefinitionMember,
    ChangeSetPullRequestMember,
    ChangeSetOperatorMember,
  ])
  .meta({ id: "ChangeSetMember" });
export type ChangeSetMember = z.output<typeof ChangeSetMember>;

/**
 * What makes a member the same change whatever message brought it: a build is its NVR, a
 * commit its repo and rev, a pull request its URL and head. `source_*` is left out on purpose:
 * Koji re-sending a COMPLETE under a new message id, or the tag message after the build
 * message, is the same change. An operator request is its own message.
 */
export function memberIdentity(member: ChangeSetMember): string {
  switch (member.kind) {
    case "build":
      return `build:${member.nvr}`;
    case "dist-git-commit":
    case "definition-commit":
      return `commit:${member.repo}@${member.rev}`;
    case "pull-request":
      return `pr:${member.pr_url}@${member.rev}`;
    case "operator-request":
      return `operator:${member.source_message_id}`;
  }
}

/** The stable id of a change set: `cs-` + 16 hex of sha256 over the JSON array of its sorted, unique member identities. */
export function changeSetIdOf(members: readonly ChangeSetMember[]): string {
  const identities = [...new Set(members.map(memberIdentity))].sort();
  return `cs-${createHash("sha256").update(JSON.stringify(identities)).digest("hex").slice(0, 16)}`;
}

/** `name-[epoch:]version-release.arch`, as rpm-ostree prints package diffs. */
export const Nevra = z
  .string()
  .regex(/^[^\s/]+-(\d+:)?[^\s:/-]+-[^\s:/-]+\.[^\s.:/-]+$/, "must be name-[epoch:]version-release.arch")
  .describe("name-[epoch:]version-release.arch");

/** A reference to an artifact: where it is and how to check it, never its content. */
export const ArtifactLocation = z.looseObject({
  location: nonEmptyString.describe("URL, or a path on storage the pipeline's services share"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits").optional(),
});
