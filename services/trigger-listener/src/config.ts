import { BASEARCHES } from "@atomic-ci/host-definition";
import { commonConfigSchema } from "@atomic-ci/runtime";
import { z } from "zod";

/** Source packages names as RPM allows them (no shell metacharacters, no path separators). */
const packageName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._+-]*$/, "must be an RPM package name");

/** A file of the host definition: a path, absolute or relative to the working directory. */
const definitionFile = z.string().min(1).refine((p) => !/[\0\n]/.test(p), "must be a file path");

/** The `triggerListener` section: what counts as a change of the host, and how changes are grouped. */
export const triggerListenerConfigSchema = commonConfigSchema.extend({
  triggerListener: z
    .strictObject({
      candidateTag: z.string().min(1).default("f41-updates-candidate").describe("Koji tag whose tag messages are candidate builds"),
      branch: z.string().min(1).default("f41").describe("dist-git branch and Bodhi release the host follows"),
      definitionRepo: z
        .string()
        .regex(/^[^/\s]+(\/[^/\s]+)?$/, "must be name or namespace/name")
        .default("atomic/host-definition")
        .describe("Host definition repository as namespace/name, or name for one without a namespace; a push to it on `branch` is a definition change"),
      hostPackages: z.array(packageName).default([]).describe("Source packages of the host (comma list in env), on top of those the definition files name; others are ignored as not-in-host"),
      definition: z
        .strictObject({
          treefile: definitionFile.optional().describe("Treefile whose `packages` (includes followed, `packages-<basearch>` added) are host packages"),
          lockfile: definitionFile.optional().describe("rpm-ostree lockfile (`manifest-lock.<basearch>.json`) whose packages are host packages"),
          basearch: z.enum(BASEARCHES).default("x86_64").describe("Architecture the treefile is read for (`packages-<basearch>`, `${basearch}`)"),
        })
        .prefault({})
        .describe("Host definition files read at start; their package names are added to hostPackages"),
      batchWindowMs: z.int().min(0).default(0).describe("Changes arriving within this window go out as one change set; 0 = no batching"),
      retentionMs: z.int().min(1).default(7 * 24 * 3_600_000).describe("How long queued changes are remembered to drop duplicates (and for re-runs and Depends-On)"),
      stateKey: z.string().min(1).default("atomic-ci:trigger-listener:state").describe("Redis key of the state document (when `redis.url` is set); replicas of one listener share it"),
    })
    .prefault({}),
});

export type TriggerListenerConfig = z.output<typeof triggerListenerConfigSchema>;
