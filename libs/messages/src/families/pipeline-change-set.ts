import { z } from "zod";
import { defineSchema, Severity } from "../schema.js";
import { nonEmptyString, sortedUnique } from "./common.js";
import { ChangeSetId, ChangeSetMember, PipelineGeneratedAt, PipelineSpecVersion } from "./pipeline-parts.js";

export const CHANGE_SET_QUEUED_TOPIC = "pipeline.change-set.queued";
export const CHANGE_SET_IGNORED_TOPIC = "pipeline.change-set.ignored";
export const OPERATOR_REQUEST_TOPIC = "pipeline.operator.request";

/** A release stream name (the publisher's `streams/<stream>.json`). */
const ReleaseStream = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a lowercase stream name (letters, digits, ._-)");

/**
 * Why a change set exists: the kind of upstream event, `batch` when a window merged several,
 * or `bisect` when the gatekeeper asked for a subset of a failing change set (culprit finding).
 */
export const CHANGE_SET_REASONS = [
  "koji-build",
  "koji-tag",
  "dist-git",
  "definition",
  "bodhi-update",
  "pull-request",
  "operator",
  "batch",
  "bisect",
] as const;
export type ChangeSetReason = (typeof CHANGE_SET_REASONS)[number];

export const ChangeSetQueued = z.looseObject({
  change_set_id: ChangeSetId,
  version: PipelineSpecVersion,
  generated_at: PipelineGeneratedAt,
  reason: z.enum(CHANGE_SET_REASONS),
  members: z.array(ChangeSetMember).min(1).describe("The changes built and tested together, sorted by identity"),
  definition: z
    .looseObject({
      repo: nonEmptyString.describe("Host definition repository (name, or namespace/name)"),
      branch: nonEmptyString,
      rev: z.string().regex(/^[0-9a-f]{40}$/).optional().describe("Definition commit to compose; absent: the branch head"),
    })
    .describe("Which host definition to compose the members into"),
  requested_by: nonEmptyString.optional().describe("Operator account, for operator change sets"),
  rerun_of: ChangeSetId.optional().describe("The change set an operator asked to run again"),
  parent_change_set_id: ChangeSetId.optional().describe("For `bisect`: the failing change set whose members this subset is taken from"),
  units: z
    .array(z.array(nonEmptyString).min(2))
    .optional()
    .describe(
      "Members declared together (one Bodhi update, changes joined by Depends-On), each list by member identity: culprit finding moves each as one unit, never splitting it. A member in no list is a unit of its own",
    ),
});
export type ChangeSetQueued = z.output<typeof ChangeSetQueued>;

function memberPackages(members: readonly ChangeSetMember[]): string[] {
  // Loose member objects type unknown keys as unknown: read `package` as what it is.
  return sortedUnique(members.map((m) => (m as { package?: unknown }).package).filter((p): p is string => typeof p === "string"));
}

export const ChangeSetQueuedMessage = defineSchema({
  name: "atomic_ci.pipeline.ChangeSetQueuedV1",
  topic: CHANGE_SET_QUEUED_TOPIC,
  body: ChangeSetQueued,
  description: "trigger-listener grouped upstream changes into a change set to compose and test together.",
  usernames: (body) => (body.requested_by ? [body.requested_by] : []),
  packages: (body) => memberPackages(body.members),
  summary: (body) => `change set ${body.change_set_id} queued (${body.reason}, ${body.members.length} member(s))`,
});

/** Why trigger-listener ignored an upstream message; the list may grow, consumers must accept new codes. */
export const IGNORED_REASON_CODES = [
  "not-in-host",
  "not-complete",
  "other-tag",
  "fork",
  "other-branch",
  "other-repo",
  "no-relevant-files",
  "not-a-candidate",
  "duplicate",
  "unknown-change-set",
] as const;
export type IgnoredReasonCode = (typeof IGNORED_REASON_CODES)[number];

export const ChangeSetIgnored = z.looseObject({
  version: PipelineSpecVersion,
  generated_at: PipelineGeneratedAt,
  source_message_id: nonEmptyString,
  source_topic: nonEmptyString,
  reason_code: nonEmptyString.describe(`Known values: ${IGNORED_REASON_CODES.join(", ")}; others may be added.`),
  reason: nonEmptyString.describe("The same, for humans"),
  package: nonEmptyString.optional(),
  nvr: nonEmptyString.optional(),
  repo: nonEmptyString.optional(),
  branch: nonEmptyString.optional(),
  change_set_id: ChangeSetId.optional().describe("For duplicates: the change set that already has the change"),
});
export type ChangeSetIgnored = z.output<typeof ChangeSetIgnored>;

export const ChangeSetIgnoredMessage = defineSchema({
  name: "atomic_ci.pipeline.ChangeSetIgnoredV1",
  topic: CHANGE_SET_IGNORED_TOPIC,
  body: ChangeSetIgnored,
  // Most upstream traffic is ignored: DEBUG lets consumers and log shippers drop it cheaply.
  severity: Severity.DEBUG,
  description: "trigger-listener ignored an upstream message, with the reason.",
  packages: (body) => (body.package ? [body.package] : []),
  summary: (body) => `ignored ${body.source_topic} (${body.reason_code}): ${body.reason}`,
});

const operatorCommon = {
  version: PipelineSpecVersion,
  generated_at: PipelineGeneratedAt,
  requested_by: nonEmptyString.describe("Operator account"),
  reason: nonEmptyString.describe("Why (free text, a ticket URL)"),
};

export const OperatorRequest = z.discriminatedUnion("action", [
  z.looseObject({
    action: z.literal("compose"),
    packages: z.array(nonEmptyString).optional().describe("Host packages the compose is about (for headers and logs)"),
    ...operatorCommon,
  }),
  z.looseObject({
    action: z.literal("rerun"),
    change_set_id: ChangeSetId.describe("Change set to run again"),
    ...operatorCommon,
  }),
  // For the publisher: a manual hold on a stream, lifting it, and rolling a stream back.
  z.looseObject({
    action: z.literal("hold"),
    stream: ReleaseStream.describe("Stream nothing is delivered to until the hold is lifted"),
    ...operatorCommon,
  }),
  z.looseObject({
    action: z.literal("unhold"),
    stream: ReleaseStream.describe("Stream whose manual hold is lifted"),
    ...operatorCommon,
  }),
  z.looseObject({
    action: z.literal("rollback"),
    stream: ReleaseStream.describe("Stream to roll back"),
    to: nonEmptyString.optional().describe("Release (version) to go back to; default the newest earlier release that is not a dead-end"),
    ...operatorCommon,
  }),
  // For the test-runner: one test run again on the commit it ran on (Fedora CI's trigger_rebuild).
  z.looseObject({
    action: z.literal("rerun-test"),
    compose: z.string().regex(/^([0-9a-f]{64}|[A-Za-z0-9][A-Za-z0-9._:-]{0,199})$/, "must be an OSTree commit (64 hex) or a compose id").describe("The OSTree commit, or the compose id, the test ran on"),
    testcase: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/, "must be a dotted test case name").describe("The test's ResultsDB test case name"),
    ...operatorCommon,
  }),
]);
export type OperatorRequest = z.output<typeof OperatorRequest>;

/** The operator actions the publisher handles; the trigger-listener handles the others. */
export const RELEASE_OPERATOR_ACTIONS = ["hold", "unhold", "rollback"] as const;
export function isReleaseOperatorRequest(body: OperatorRequest): body is Extract<OperatorRequest, { action: (typeof RELEASE_OPERATOR_ACTIONS)[number] }> {
  return (RELEASE_OPERATOR_ACTIONS as readonly string[]).includes(body.action);
}

export const OperatorRequestMessage = defineSchema({
  name: "atomic_ci.pipeline.OperatorRequestV1",
  topic: OPERATOR_REQUEST_TOPIC,
  body: OperatorRequest,
  description: "An operator asked (through the CLI) for a compose now, for a change set to run again, to hold, unhold or roll back a release stream, or for one test to run again on a compose.",
  agentName: (body) => body.requested_by,
  usernames: (body) => [body.requested_by],
  packages: (body) => (body.action === "compose" ? sortedUnique(body.packages ?? []) : []),
  summary: (body) => {
    switch (body.action) {
      case "rerun":
        return `${body.requested_by} asked to re-run ${body.change_set_id}: ${body.reason}`;
      case "compose":
        return `${body.requested_by} asked for a compose: ${body.reason}`;
      case "hold":
        return `${body.requested_by} asked to hold ${body.stream}: ${body.reason}`;
      case "unhold":
        return `${body.requested_by} asked to lift the hold on ${body.stream}: ${body.reason}`;
      case "rollback":
        return `${body.requested_by} asked to roll ${body.stream} back${body.to === undefined ? "" : ` to ${body.to}`}: ${body.reason}`;
      case "rerun-test":
        return `${body.requested_by} asked to re-run ${body.testcase} on ${body.compose}: ${body.reason}`;
    }
  },
});
