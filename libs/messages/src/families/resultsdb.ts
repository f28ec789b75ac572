import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema } from "../schema.js";
import { nvrPackageName } from "./common.js";

export const RESULTSDB_OUTCOMES = ["PASSED", "FAILED", "INFO", "NEEDS_INSPECTION", "QUEUED", "RUNNING", "ERROR"] as const;
export type ResultsdbOutcome = (typeof RESULTSDB_OUTCOMES)[number];

export const RESULTSDB_RESULT_NEW_TOPIC = "resultsdb.result.new";

/** A ResultsDB API v2 result; `resultsdb.result.new` carries it as its body. */
export const ResultsdbResult = z.looseObject({
  id: z.int(),
  outcome: z.enum(RESULTSDB_OUTCOMES),
  testcase: z.looseObject({
    name: z.string().min(1),
    ref_url: z.string().nullable().optional(),
    href: z.string().optional(),
  }),
  /** Extra data: every value is a list of strings (`item`, `type`, `arch`, `scenario`, ...). */
  data: z.record(z.string(), z.array(z.string())),
  groups: z.array(z.string()).optional(),
  note: z.string().nullable().optional(),
  ref_url: z.string().nullable().optional(),
  submit_time: z.string(),
  href: z.string().optional(),
});
export type ResultsdbResult = z.output<typeof ResultsdbResult>;

/** First value of a data key (`item`, `type`, ...), the way Greenwave reads them. */
export function resultDataValue(result: ResultsdbResult, key: string): string | undefined {
  return result.data[key]?.[0];
}

const KOJI_BUILD_TYPES = new Set(["koji_build", "brew-build"]);

export const ResultsdbResultNewMessage = defineSchema({
  name: "atomic_ci.resultsdb.ResultNewV1",
  topic: RESULTSDB_RESULT_NEW_TOPIC,
  body: ResultsdbResult,
  description: "A test result was stored in ResultsDB.",
  packages: (body) => {
    const type = resultDataValue(body, "type");
    const item = resultDataValue(body, "item");
    return type && item && KOJI_BUILD_TYPES.has(type) ? [nvrPackageName(item)] : [];
  },
  summary: (body) =>
    `${body.testcase.name} ${body.outcome} for ${resultDataValue(body, "item") ?? "(no item)"}`,
});

export const RESULTSDB_FAMILY: MessageFamily = {
  id: "resultsdb",
  title: "ResultsDB",
  description: "New test results in ResultsDB (no Python schema package exists; the body is the API v2 result).",
  schemas: [ResultsdbResultNewMessage],
};
