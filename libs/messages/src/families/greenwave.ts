import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema } from "../schema.js";
import { nvrPackageName } from "./common.js";

/** Requirement types of Greenwave's decision API (v1) and `greenwave.decision.update`. */
export const GREENWAVE_REQUIREMENT_TYPES = [
  "test-result-passed",
  "test-result-missing",
  "test-result-failed",
  "test-result-errored",
  "test-result-failed-waived",
  "test-result-missing-waived",
  "test-result-errored-waived",
  "invalid-gating-yaml",
  "missing-gating-yaml",
  "failed-fetch-gating-yaml",
  "fetched-gating-yaml",
  "excluded",
] as const;
export type GreenwaveRequirementType = (typeof GREENWAVE_REQUIREMENT_TYPES)[number];

/** Fields any requirement may carry; which ones appear depends on the type and Greenwave's version. */
const requirementFields = {
  testcase: z.string().optional(),
  subject_type: z.string().optional(),
  subject_identifier: z.string().optional(),
  result_id: z.int().nullable().optional(),
  /** `{type, item}` in older Greenwave, `{type, identifier}` in the documented form. */
  item: z.record(z.string(), z.unknown()).optional(),
  scenario: z.string().nullable().optional(),
  details: z.string().optional(),
  source: z.string().nullable().optional(),
};

function requirement<T extends GreenwaveRequirementType>(type: T) {
  return z.looseObject({ ...requirementFields, type: z.literal(type) });
}

function testResultRequirement<T extends GreenwaveRequirementType>(type: T) {
  return requirement(type).extend({ testcase: z.string() });
}

const KnownRequirement = z.discriminatedUnion("type", [
  testResultRequirement("test-result-passed"),
  testResultRequirement("test-result-missing"),
  testResultRequirement("test-result-failed"),
  testResultRequirement("test-result-errored").extend({ error_reason: z.string() }),
  testResultRequirement("test-result-failed-waived"),
  testResultRequirement("test-result-missing-waived"),
  testResultRequirement("test-result-errored-waived"),
  requirement("invalid-gating-yaml"),
  requirement("missing-gating-yaml"),
  requirement("failed-fetch-gating-yaml"),
  requirement("fetched-gating-yaml"),
  requirement("excluded"),
]);

const KNOWN_TYPES: ReadonlySet<string> = new Set(GREENWAVE_REQUIREMENT_TYPES);

/** A requirement type a newer Greenwave may add; kept so one new type does not drop a decision. */
const UnknownRequirement = z.looseObject({
  ...requirementFields,
  type: z
    .string()
    // abort: a union takes a branch that failed only on non-aborting checks as the answer.
    .refine((type) => !KNOWN_TYPES.has(type), {
      message: "a known requirement type must match its own shape",
      abort: true,
    })
    .meta({ not: { enum: [...GREENWAVE_REQUIREMENT_TYPES] } }),
});

export const GreenwaveRequirement = z
  .union([KnownRequirement, UnknownRequirement])
  .meta({ id: "GreenwaveRequirement" });
export type GreenwaveRequirement = z.output<typeof GreenwaveRequirement>;

const decisionFields = {
  policies_satisfied: z.boolean(),
  summary: z.string(),
  applicable_policies: z.array(z.string()),
  satisfied_requirements: z.array(GreenwaveRequirement).optional(),
  unsatisfied_requirements: z.array(GreenwaveRequirement),
};

export const GREENWAVE_DECISION_UPDATE_TOPIC = "greenwave.decision.update";

/**
 * Body of `greenwave.decision.update`. `satisfied_requirements` is optional because 2018
 * Greenwave did not send it; `previous` is the decision before the change, partial in old
 * messages, and may be null or absent when there was none.
 */
export const GreenwaveDecisionUpdate = z.looseObject({
  subject_type: z.string(),
  subject_identifier: z.string(),
  subject: z.array(z.looseObject({ type: z.string(), item: z.string() })).optional(),
  product_version: z.string(),
  decision_context: z.string(),
  ...decisionFields,
  previous: z.looseObject(decisionFields).partial().nullable().optional(),
});
export type GreenwaveDecisionUpdate = z.output<typeof GreenwaveDecisionUpdate>;

const KOJI_BUILD_SUBJECTS = new Set(["koji_build", "brew-build"]);

export const GreenwaveDecisionUpdateMessage = defineSchema({
  name: "atomic_ci.greenwave.DecisionUpdateV1",
  topic: GREENWAVE_DECISION_UPDATE_TOPIC,
  body: GreenwaveDecisionUpdate,
  description: "A gating decision changed for a subject at a decision context.",
  packages: (body) =>
    KOJI_BUILD_SUBJECTS.has(body.subject_type) ? [nvrPackageName(body.subject_identifier)] : [],
  summary: (body) =>
    `${body.subject_type} ${body.subject_identifier} ${body.policies_satisfied ? "passes" : "fails"} ` +
    `${body.decision_context} (${body.product_version}): ${body.summary}`,
});

export const GREENWAVE_FAMILY: MessageFamily = {
  id: "greenwave",
  title: "Greenwave decisions",
  description: "Gating decision changes, as Greenwave publishes them (no Python schema package exists).",
  schemas: [GreenwaveDecisionUpdateMessage],
};
