import { z } from "zod";
import { defineSchema, Severity } from "../schema.js";
import { nonEmptyString, sortedUnique } from "./common.js";
import { ChangeSetId, PipelineGeneratedAt, PipelineSpecVersion } from "./pipeline-parts.js";

export const CULPRITS_FOUND_TOPIC = "pipeline.culprits.found";

/** `alone`: the unit fails on the base by itself; `combination`: these units fail only together. */
export const CULPRIT_KINDS = ["alone", "combination"] as const;
export type CulpritKind = (typeof CULPRIT_KINDS)[number];

const MemberKey = nonEmptyString.describe("A member of the change set, by identity (`build:<nvr>`, see memberIdentity)");

export const Culprit = z.looseObject({
  kind: z.enum(CULPRIT_KINDS),
  members: z.array(MemberKey).min(1).describe("alone: the rejected unit's members; combination: the accepted partner's and the rejected unit's"),
  rejected: z.array(MemberKey).min(1).describe("The members rejected for it (the unit that broke the accepted ones)"),
  failing_tests: z.array(nonEmptyString).describe("Unsatisfied requirements of the smallest failing compose (test case names, or `compose` when it did not compose)"),
  change_set_id: ChangeSetId.describe("The smallest failing subset's change set, where the failure can be seen"),
});
export type Culprit = z.output<typeof Culprit>;

export const CulpritsFound = z.looseObject({
  change_set_id: ChangeSetId.describe("The change set that failed the compose gate"),
  version: PipelineSpecVersion,
  generated_at: PipelineGeneratedAt,
  culprits: z.array(Culprit).describe("Empty when every member passed after all (a flaky failure)"),
  accepted: z.array(MemberKey).describe("Members that pass together on the base"),
  accepted_change_set_id: ChangeSetId.optional().describe("The change set of exactly the accepted members, when it was composed and passed the compose gate"),
  composes_tried: z.int().min(0).describe("Subset composes asked for (the failing change set itself not counted)"),
  cycles: z.int().min(0).optional().describe("Rounds of subset composes asked for side by side: the search's length in compose+test cycles"),
});
export type CulpritsFound = z.output<typeof CulpritsFound>;

export const CulpritsFoundMessage = defineSchema({
  name: "atomic_ci.pipeline.CulpritsFoundV1",
  topic: CULPRITS_FOUND_TOPIC,
  body: CulpritsFound,
  severity: Severity.WARNING,
  description: "The gatekeeper isolated the culprits of a change set that failed the compose gate, by composing subsets of it.",
  packages: (body) => sortedUnique(body.culprits.flatMap((c) => c.members).map((m) => m.replace(/^build:/, "").split("-").slice(0, -2).join("-")).filter((p) => p.length > 0)),
  summary: (body) =>
    `${body.change_set_id}: ${body.culprits.length === 0 ? "no culprit" : body.culprits.map((c) => `${c.kind} ${c.members.join(" + ")}`).join("; ")} (${body.composes_tried} compose(s))`,
});
