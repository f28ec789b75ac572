import { commonConfigSchema, mirroredDistGitKeys } from "@atomic-ci/runtime";
import { z } from "zod";

const contextName = z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a decision context name (letters, digits, ._-)");

/** The `gatekeeper` section: where policies and dist-git are, what to decide, where the API listens. */
export const gatekeeperConfigSchema = commonConfigSchema.extend({
  gatekeeper: z
    .strictObject({
      policies: z
        .strictObject({
          dir: z.string().min(1).optional().describe("Directory of `*.yaml` policy files (wins over `repo`)"),
          repo: z.string().min(1).optional().describe("Host definition git repository whose `policies/*.yaml` are read at `branch`: a local path, or a remote URL mirrored under mirrorDir"),
          branch: z.string().min(1).default("f41").describe("Branch of the definition repository the policies are read from"),
          mirrorDir: z.string().min(1).default(".cache/gatekeeper/mirrors").describe("Where a remote definition repository is mirrored"),
          refreshSeconds: z.int().min(1).default(60).describe("How often the policies are read again (a commit to the definition changes them without a restart; an invalid set keeps the last good one)"),
        })
        .prefault({}),
      distGit: z
        .strictObject({
          baseDir: z.string().min(1).optional().describe("dist-git base directory: `<baseDir>/rpms/<name>` git repositories, read for `!RemoteRule` gating.yaml"),
          ...mirroredDistGitKeys(".cache/gatekeeper/dist-git"),
          branch: z.string().min(1).default("f41").describe("Branch searched for a build's commit when its results name none"),
        })
        .prefault({}),
      productVersion: z.string().min(1).default("fedora-41").describe("Product version of every decision the service makes"),
      contexts: z
        .strictObject({
          package: contextName.default("bodhi_update_push_testing").describe("Decision context of the package gate (koji_build subjects)"),
          compose: contextName
            .default("atomic_ci_compose_gate")
            .describe("The compose gate (compose subjects): its decisions judge a compose together with its builds' package gates, and drive culprit finding. Always decided, first"),
          composeGates: z
            .array(contextName)
            .default(["atomic_ci_compose_gate", "atomic_ci_image_gate"])
            .describe("Every decision context compose subjects are re-decided at (plus `compose`); one with no applicable policy is skipped"),
        })
        .prefault({}),
      culprits: z
        .strictObject({
          enabled: z.boolean().default(true).describe("Find the culprits of a change set of several builds that fails the compose gate, by composing subsets of it"),
        })
        .prefault({}),
      batch: z
        .strictObject({
          windowMs: z.int().min(0).max(60_000).default(200).describe("Results and waivers arriving within this many ms (and while a decision pass runs) are decided in one pass, each subject once"),
        })
        .prefault({}),
      store: z
        .strictObject({
          prefix: z.string().min(1).default("atomic-ci:gatekeeper").describe("Key prefix of the gatekeeper's state in Redis (used when `redis.url` is set; in memory otherwise)"),
        })
        .prefault({}),
      api: z
        .strictObject({
          host: z.string().min(1).default("0.0.0.0").describe("Address of the Greenwave/WaiverDB-compatible API"),
          port: z.int().min(0).max(65_535).default(8081).describe("Port of that API; 0 picks a free one"),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type GatekeeperConfig = z.output<typeof gatekeeperConfigSchema>;
export type GatekeeperSection = GatekeeperConfig["gatekeeper"];
