import { commonConfigSchema } from "@atomic-ci/runtime";
import { z } from "zod";

/** Source package names as RPM allows them (no shell metacharacters, no path separators). */
const packageName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._+-]*$/, "must be an RPM package name");

/** The `triggerListener` section: what counts as a change of the host, and how changes are grouped. */
export const triggerListenerConfigSchema = commonConfigSchema.extend({
  triggerListener: z
    .strictObject({
      candidateTag: z.string().min(1).default("f41-updates-candidate").describe("Koji tag whose tag messages are candidate builds"),
      branch: z.string().min(1).default("f41").describe("dist-git branch and Bodhi release the host follows"),
      definitionRepo: z
        .string()
        .regex(/^[^/\s]+\/[^/\s]+$/, "must be namespace/name")
        .default("atomic/host-definition")
        .describe("Host definition repository as namespace/name; a push to it on `branch` is a definition change"),
      hostPackages: z.array(packageName).default([]).describe("Source packages of the host (comma list in env); others are ignored as not-in-host"),
      batchWindowMs: z.int().min(0).default(0).describe("Changes arriving within this window go out as one change set; 0 = no batching"),
      retentionMs: z.int().min(1).default(7 * 24 * 3_600_000).describe("How long queued changes are remembered to drop duplicates (and for re-runs and Depends-On)"),
    })
    .prefault({}),
});

export type TriggerListenerConfig = z.output<typeof triggerListenerConfigSchema>;
