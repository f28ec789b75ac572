import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema, Severity } from "../schema.js";
import { nvrPackageName, sortedUnique, truncate } from "./common.js";

const SCHEMA_PACKAGE = "bodhi_messages";

/** bodhi-messages' UpdateV1: the part of an update every update message carries. */
export const BodhiUpdate = z.looseObject({
  alias: z.string(),
  builds: z.array(z.looseObject({ nvr: z.string() })),
  release: z.looseObject({ name: z.string() }),
  request: z.enum(["testing", "obsolete", "unpush", "revoke", "stable"]).nullable(),
  status: z
    .enum(["pending", "testing", "stable", "unpushed", "obsolete", "side_tag_active", "side_tag_expired"])
    .nullable(),
  user: z.looseObject({ name: z.string() }),
}).meta({ id: "BodhiUpdate" });
export type BodhiUpdate = z.output<typeof BodhiUpdate>;

/** The `bodhi_update_push_*` decision contexts gate on the NVRs of an update's builds. */
export function bodhiUpdateNvrs(update: { builds: readonly { nvr: string }[] }): string[] {
  return update.builds.map((b) => b.nvr);
}

function buildsSummary(nvrs: readonly string[]): string {
  return truncate(nvrs.join(" "));
}

/** `@name` mentions in a comment notify that user, as Bodhi's MENTION_RE finds them. */
function mentions(text: string): string[] {
  return [...text.matchAll(/(?<!\S)@([\p{L}\p{N}_]+)/gu)].map((m) => m[1] ?? "");
}

export const BODHI_UPDATE_REQUEST_TESTING_TOPIC = "bodhi.update.request.testing";

export const BodhiUpdateRequestTesting = z.looseObject({
  agent: z.string(),
  update: BodhiUpdate,
});
export type BodhiUpdateRequestTesting = z.output<typeof BodhiUpdateRequestTesting>;

export const BodhiUpdateRequestTestingMessage = defineSchema({
  name: "bodhi.update.request.testing.v1",
  schemaPackage: SCHEMA_PACKAGE,
  topic: BODHI_UPDATE_REQUEST_TESTING_TOPIC,
  body: BodhiUpdateRequestTesting,
  description: "An update was submitted to testing.",
  agentName: (body) => body.agent,
  usernames: (body) => sortedUnique([body.agent, body.update.user.name]),
  packages: (body) => bodhiUpdateNvrs(body.update).map(nvrPackageName),
  summary: (body) => {
    const owner = body.agent === body.update.user.name ? "their" : `${body.update.user.name}'s`;
    const builds = buildsSummary(bodhiUpdateNvrs(body.update));
    return `${body.agent} submitted ${owner} update ${body.update.alias} (${builds}) to testing`;
  },
});

export const BODHI_UPDATE_COMMENT_TOPIC = "bodhi.update.comment";

export const BodhiUpdateComment = z.looseObject({
  comment: z.looseObject({
    karma: z.int(),
    text: z.string(),
    timestamp: z.string(),
    update: BodhiUpdate,
    user: z.looseObject({ name: z.string() }),
  }),
});
export type BodhiUpdateComment = z.output<typeof BodhiUpdateComment>;

export const BodhiUpdateCommentMessage = defineSchema({
  name: "bodhi.update.comment.v1",
  schemaPackage: SCHEMA_PACKAGE,
  topic: BODHI_UPDATE_COMMENT_TOPIC,
  body: BodhiUpdateComment,
  description: "Someone commented on an update (with karma).",
  agentName: (body) => body.comment.user.name,
  usernames: (body) =>
    sortedUnique([body.comment.user.name, ...mentions(body.comment.text), body.comment.update.user.name]),
  packages: (body) => bodhiUpdateNvrs(body.comment.update).map(nvrPackageName),
  summary: (body) =>
    `${body.comment.user.name} commented on update ${buildsSummary(bodhiUpdateNvrs(body.comment.update))} ` +
    `(karma: ${body.comment.karma})`,
});

export const BODHI_UPDATE_READY_FOR_TESTING_TOPIC = "bodhi.update.status.testing.koji-build-group.build.complete";

/** UpdateReadyForTestingV3 (what Bodhi sends today): the update plus the Koji ids of its builds. */
export const BodhiUpdateReadyForTestingV3 = z.looseObject({
  agent: z.string(),
  artifact: z.looseObject({
    type: z.string(),
    builds: z.array(
      z.looseObject({
        type: z.string(),
        id: z.int(),
        task_id: z.int().nullable(),
        nvr: z.string(),
      }),
    ),
  }),
  "re-trigger": z.boolean().optional(),
  update: BodhiUpdate,
});
export type BodhiUpdateReadyForTestingV3 = z.output<typeof BodhiUpdateReadyForTestingV3>;

/**
 * UpdateReadyForTestingV1 (and V2, which adds `update`): a Fedora CI style koji-build-group
 * artifact. `update`, when present, may be trimmed, so it is not checked here.
 */
export const BodhiUpdateReadyForTestingV1 = z.looseObject({
  agent: z.string(),
  contact: z.looseObject({ name: z.string(), team: z.string(), docs: z.string(), email: z.string() }),
  artifact: z.looseObject({
    id: z.string(),
    type: z.string(),
    builds: z.array(
      z.looseObject({
        type: z.string(),
        id: z.int(),
        task_id: z.int().nullable().optional(),
        component: z.string(),
        issuer: z.string(),
        scratch: z.boolean(),
        nvr: z.string(),
      }),
    ),
    repository: z.string(),
    release: z.string(),
  }),
  generated_at: z.string(),
  version: z.string(),
  "re-trigger": z.boolean().optional(),
});
export type BodhiUpdateReadyForTestingV1 = z.output<typeof BodhiUpdateReadyForTestingV1>;

/** Body of the ready-for-testing topic: V3 or the older V1/V2 shape. */
export const BodhiUpdateReadyForTesting = z.union([BodhiUpdateReadyForTestingV3, BodhiUpdateReadyForTestingV1]);
export type BodhiUpdateReadyForTesting = z.output<typeof BodhiUpdateReadyForTesting>;

/** Whether a ready-for-testing body is the V3 shape (a full `update`) rather than V1/V2. */
export function isReadyForTestingV3(body: BodhiUpdateReadyForTesting): body is BodhiUpdateReadyForTestingV3 {
  return BodhiUpdateReadyForTestingV3.safeParse(body).success;
}

export const BodhiUpdateReadyForTestingMessage = defineSchema({
  name: "bodhi.update.status.testing.v3",
  schemaPackage: SCHEMA_PACKAGE,
  topic: BODHI_UPDATE_READY_FOR_TESTING_TOPIC,
  body: BodhiUpdateReadyForTesting,
  description: "An update's builds are ready to be tested together (created, builds edited, or re-trigger).",
  severity: Severity.DEBUG,
  agentName: (body) => body.agent,
  usernames: (body) =>
    isReadyForTestingV3(body)
      ? sortedUnique([body.agent, body.update.user.name])
      : sortedUnique([...body.artifact.builds.map((b) => b.issuer), body.agent]),
  packages: (body) =>
    isReadyForTestingV3(body)
      ? bodhiUpdateNvrs(body.update).map(nvrPackageName)
      : sortedUnique(body.artifact.builds.map((b) => b.component)),
  summary: (body) => {
    const who = isReadyForTestingV3(body) ? body.update.user.name : body.contact.name;
    return `${who}'s ${buildsSummary(readyForTestingNvrs(body))} bodhi update is ready for testing`;
  },
});

/** NVRs to test for a ready-for-testing message: the artifact's builds (both shapes carry them). */
export function readyForTestingNvrs(body: BodhiUpdateReadyForTesting): string[] {
  return body.artifact.builds.map((b) => b.nvr);
}

/** NVRs of the update any of the three Bodhi bodies is about. */
export function bodhiBuildNvrs(
  body: BodhiUpdateRequestTesting | BodhiUpdateComment | BodhiUpdateReadyForTesting,
): string[] {
  if (hasObject(body, "comment")) return bodhiUpdateNvrs((body as BodhiUpdateComment).comment.update);
  if (hasObject(body, "artifact")) return readyForTestingNvrs(body as BodhiUpdateReadyForTesting);
  return bodhiUpdateNvrs((body as BodhiUpdateRequestTesting).update);
}

function hasObject(body: object, key: string): boolean {
  const value = (body as Record<string, unknown>)[key];
  return typeof value === "object" && value !== null;
}

export const BODHI_FAMILY: MessageFamily = {
  id: "bodhi",
  title: "Bodhi updates",
  description: "Update messages from Bodhi (schemas of bodhi-messages).",
  schemas: [BodhiUpdateRequestTestingMessage, BodhiUpdateReadyForTestingMessage, BodhiUpdateCommentMessage],
};
