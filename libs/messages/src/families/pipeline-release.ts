import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema, Severity } from "../schema.js";
import { nonEmptyString } from "./common.js";
import { PipelineGeneratedAt, PipelineSpecVersion } from "./pipeline-parts.js";

export const RELEASE_EVENTS = ["held", "delivered", "rolled-back", "hold-set", "hold-lifted"] as const;
export type ReleaseEvent = (typeof RELEASE_EVENTS)[number];

export function releaseTopic(event: ReleaseEvent): `pipeline.release.${ReleaseEvent}` {
  return `pipeline.release.${event}`;
}

const Commit = z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-hex OSTree checksum");
/** A stream name, as in the public tree's `streams/<stream>.json`. */
export const StreamName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a lowercase stream name (letters, digits, ._-)");

/**
 * Why a release waits. Known kinds: `gate` (a gate is not satisfied, or the gatekeeper could not
 * be asked), `freeze`, `schedule`, `manual-hold`, `soak` (not long enough in the stream it is
 * promoted from), `incomplete` (the compose or its images are not known yet), `policy` (no
 * usable delivery policy, or the stream is not in it), `config` (the publisher cannot deliver
 * as configured), `error` (promotion failed). Consumers must accept new kinds.
 */
export const RELEASE_HOLD_KINDS = ["gate", "freeze", "schedule", "manual-hold", "soak", "incomplete", "policy", "config", "error"] as const;

export const HoldReason = z
  .looseObject({
    kind: nonEmptyString.describe(`Known values: ${RELEASE_HOLD_KINDS.join(", ")}; others may be added.`),
    detail: nonEmptyString.describe("For humans: which freeze, which gate, which hold and by whom"),
    until: z.iso.datetime({ offset: true }).optional().describe("When this reason ends by itself (a freeze's end, the next schedule opening), when known"),
  })
  .meta({ id: "ReleaseHoldReason" });
export type HoldReason = z.output<typeof HoldReason>;

const common = {
  version: PipelineSpecVersion,
  generated_at: PipelineGeneratedAt,
  stream: StreamName,
};

export const ReleaseHeld = z.looseObject({
  ...common,
  os_version: nonEmptyString.describe("The release's version (the compose's os_version)"),
  commit: Commit,
  ref: nonEmptyString.optional().describe("OSTree ref of the compose"),
  compose_id: nonEmptyString.optional(),
  change_set_id: nonEmptyString.optional(),
  reasons: z.array(HoldReason).min(1).describe("Every reason it waits; it is delivered when none is left"),
});
export type ReleaseHeld = z.output<typeof ReleaseHeld>;

export const ReleaseDelivered = z.looseObject({
  ...common,
  os_version: nonEmptyString,
  commit: Commit,
  ref: nonEmptyString.describe("The public OSTree ref the commit is on"),
  compose_id: nonEmptyString.optional(),
  change_set_id: nonEmptyString.optional(),
  from_stream: StreamName.optional().describe("For a promotion between streams: the stream it was promoted from"),
  already_promoted: z.boolean().describe("True when the public tree already had this release (a redelivery after a crash): nothing was changed"),
  public: z
    .looseObject({
      repo: nonEmptyString.describe("The public OSTree repository (a path, or a URL under baseUrl)"),
      stream_metadata: nonEmptyString.describe("streams/<stream>.json"),
      release_metadata: nonEmptyString.describe("prod/streams/<stream>/builds/<version>/release.json"),
      images: z.array(nonEmptyString).describe("URLs (or paths) of the published images"),
    })
    .describe("Where users find it"),
});
export type ReleaseDelivered = z.output<typeof ReleaseDelivered>;

export const ReleaseRolledBack = z.looseObject({
  ...common,
  os_version: nonEmptyString.describe("The release the stream points at now"),
  commit: Commit,
  ref: nonEmptyString,
  withdrawn: z.array(nonEmptyString).describe("Releases marked as dead-ends by this rollback"),
  already_there: z.boolean().describe("True when the stream already pointed at that release: nothing changed"),
  requested_by: nonEmptyString,
  reason: nonEmptyString,
});
export type ReleaseRolledBack = z.output<typeof ReleaseRolledBack>;

export const ReleaseHoldChange = z.looseObject({
  ...common,
  requested_by: nonEmptyString,
  reason: nonEmptyString,
});
export type ReleaseHoldChange = z.output<typeof ReleaseHoldChange>;

export const ReleaseHeldMessage = defineSchema({
  name: "atomic_ci.pipeline.ReleaseHeldV1",
  topic: releaseTopic("held"),
  body: ReleaseHeld,
  severity: Severity.WARNING,
  description: "The publisher did not deliver a gated compose to a stream (yet), with every reason; sent again only when the reasons change.",
  summary: (body) => `${body.stream} ${body.os_version} held: ${body.reasons.map((r) => `${r.kind} (${r.detail})`).join("; ")}`,
});

export const ReleaseDeliveredMessage = defineSchema({
  name: "atomic_ci.pipeline.ReleaseDeliveredV1",
  topic: releaseTopic("delivered"),
  body: ReleaseDelivered,
  description: "A compose was delivered to a stream of the public tree (signed OSTree commit, images and release metadata).",
  summary: (body) => `${body.stream} ${body.os_version} delivered (${body.commit.slice(0, 12)})${body.from_stream ? ` from ${body.from_stream}` : ""}`,
});

export const ReleaseRolledBackMessage = defineSchema({
  name: "atomic_ci.pipeline.ReleaseRolledBackV1",
  topic: releaseTopic("rolled-back"),
  body: ReleaseRolledBack,
  severity: Severity.WARNING,
  description: "An operator rolled a stream back: its ref points at an earlier release, the withdrawn ones are dead-ends.",
  agentName: (body) => body.requested_by,
  usernames: (body) => [body.requested_by],
  summary: (body) => `${body.requested_by} rolled ${body.stream} back to ${body.os_version}: ${body.reason}`,
});

export const ReleaseHoldSetMessage = defineSchema({
  name: "atomic_ci.pipeline.ReleaseHoldSetV1",
  topic: releaseTopic("hold-set"),
  body: ReleaseHoldChange,
  description: "The publisher recorded an operator's manual hold on a stream: nothing is delivered to it until it is lifted.",
  agentName: (body) => body.requested_by,
  usernames: (body) => [body.requested_by],
  summary: (body) => `${body.requested_by} held ${body.stream}: ${body.reason}`,
});

export const ReleaseHoldLiftedMessage = defineSchema({
  name: "atomic_ci.pipeline.ReleaseHoldLiftedV1",
  topic: releaseTopic("hold-lifted"),
  body: ReleaseHoldChange,
  description: "The publisher lifted an operator's manual hold on a stream; what waited for it is evaluated at once.",
  agentName: (body) => body.requested_by,
  usernames: (body) => [body.requested_by],
  summary: (body) => `${body.requested_by} lifted the hold on ${body.stream}: ${body.reason}`,
});

/** The publisher's messages: `pipeline.release.<event>` under the configured prefix. */
export const PIPELINE_RELEASE_FAMILY: MessageFamily = {
  id: "pipeline-release",
  title: "atomic-ci pipeline: releases",
  description: "Messages the publisher emits: releases held (with reasons), delivered and rolled back; manual holds set and lifted.",
  schemas: [ReleaseHeldMessage, ReleaseDeliveredMessage, ReleaseRolledBackMessage, ReleaseHoldSetMessage, ReleaseHoldLiftedMessage],
};
