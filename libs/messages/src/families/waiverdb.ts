import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema } from "../schema.js";

export const WAIVERDB_WAIVER_NEW_TOPIC = "waiverdb.waiver.new";

/** A WaiverDB waiver, the body of `waiverdb.waiver.new`. */
export const WaiverdbWaiver = z.looseObject({
  id: z.int(),
  subject_type: z.string().min(1),
  subject_identifier: z.string().min(1),
  /** Deprecated duplicate of subject_type/subject_identifier that older WaiverDB still sends. */
  subject: z.looseObject({ type: z.string(), item: z.string() }).optional(),
  testcase: z.string().min(1),
  product_version: z.string().min(1),
  waived: z.boolean(),
  comment: z.string(),
  username: z.string().min(1),
  proxied_by: z.string().nullable().optional(),
  scenario: z.string().nullable().optional(),
  timestamp: z.string(),
});
export type WaiverdbWaiver = z.output<typeof WaiverdbWaiver>;

export const WaiverdbWaiverNewMessage = defineSchema({
  name: "atomic_ci.waiverdb.WaiverNewV1",
  topic: WAIVERDB_WAIVER_NEW_TOPIC,
  body: WaiverdbWaiver,
  description: "A test result was waived (or a waiver revoked with waived=false).",
  agentName: (body) => body.username,
  usernames: (body) => [body.username],
  summary: (body) =>
    `${body.username} ${body.waived ? "waived" : "unwaived"} ${body.testcase} for ` +
    `${body.subject_type} ${body.subject_identifier}`,
});

export const WAIVERDB_FAMILY: MessageFamily = {
  id: "waiverdb",
  title: "WaiverDB",
  description: "New waivers in WaiverDB (no Python schema package exists).",
  schemas: [WaiverdbWaiverNewMessage],
};
