import { z } from "zod";
import { defineSchema, Severity } from "../schema.js";
import { nonEmptyString, sortedUnique } from "./common.js";
import { ArtifactLocation, ChangeSetId, Nevra, PipelineGeneratedAt, PipelineSpecVersion } from "./pipeline-parts.js";

export const COMPOSE_STATES = ["queued", "running", "complete", "error"] as const;
export type ComposeState = (typeof COMPOSE_STATES)[number];

export function composeTopic(state: ComposeState): `pipeline.compose.${ComposeState}` {
  return `pipeline.compose.${state}`;
}

/**
 * The compose id doubles as the `id` of the Fedora CI `productmd-compose` artifact the test
 * stages report on (with `compose_type: "ci"`), so it follows productmd's shape loosely:
 * any non-empty token without whitespace or slashes.
 */
const ComposeId = z.string().regex(/^[^\s/]+$/, "must be a non-empty token without spaces or slashes");

const common = {
  change_set_id: ChangeSetId,
  compose_id: ComposeId,
  version: PipelineSpecVersion,
  generated_at: PipelineGeneratedAt,
};

export const ComposeQueued = z.looseObject({
  ...common,
  ref: nonEmptyString.optional().describe("OSTree ref, when already known"),
});
export type ComposeQueued = z.output<typeof ComposeQueued>;

export const ComposeRunning = z.looseObject({
  ...common,
  ref: nonEmptyString.optional(),
  log: nonEmptyString.optional().describe("Where the live log is"),
});
export type ComposeRunning = z.output<typeof ComposeRunning>;

const Upgrade = z.looseObject({ from: Nevra, to: Nevra });

export const PackageDiff = z
  .looseObject({
    added: z.array(Nevra),
    removed: z.array(Nevra),
    upgraded: z.array(Upgrade),
    downgraded: z.array(Upgrade),
  })
  .meta({ id: "PackageDiff" });
export type PackageDiff = z.output<typeof PackageDiff>;

/** A dist-git commit or pull request head the composer built itself (docs/composer.md, "Scratch builds"). */
export const ScratchBuild = z
  .looseObject({
    kind: z.enum(["dist-git-commit", "pull-request"]).describe("What kind of change set member was built"),
    package: nonEmptyString.describe("Source package name"),
    repo: nonEmptyString.describe("dist-git repository, e.g. rpms/bash"),
    rev: z.string().regex(/^[0-9a-f]{40}$/, "must be a full 40-hex git commit id").describe("The commit built"),
    pr_url: z.url().optional().describe("The pull request, for a pull-request member"),
    nvr: nonEmptyString.describe("name-version-release of the build"),
    rpms: z.array(nonEmptyString).describe("Binary RPM NEVRAs the build made, composed in place of the repositories' ones"),
  })
  .meta({ id: "ScratchBuild" });
export type ScratchBuild = z.output<typeof ScratchBuild>;

export const ComposeComplete = z.looseObject({
  ...common,
  ref: nonEmptyString.describe("OSTree ref, e.g. fedora/41/x86_64/atomic-host"),
  commit: z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-hex OSTree checksum"),
  parent: z.string().regex(/^[0-9a-f]{64}$/).nullable().optional().describe("Previous commit on the ref"),
  os_version: nonEmptyString.describe("The commit's `version` metadata (automatic-version-prefix)"),
  input_hash: z.string().regex(/^[0-9a-f]{64}$/).describe("rpmostree.inputhash of the commit"),
  repo: ArtifactLocation.describe("OSTree archive repository holding the commit"),
  lockfile: ArtifactLocation.extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }).describe("The lockfile written for this compose"),
  compose_json: ArtifactLocation.optional().describe("rpm-ostree style compose JSON"),
  pkgdiff: PackageDiff.describe("Package changes against the parent commit"),
  reused: z.boolean().describe("True when a commit with the same input hash existed and was reused"),
  timestamp: z.iso.datetime({ offset: true }).describe("Commit timestamp"),
  scratch_builds: z.array(ScratchBuild).optional().describe("Packages the composer built from dist-git heads for this compose (absent when none)"),
});
export type ComposeComplete = z.output<typeof ComposeComplete>;

export const COMPOSE_ERROR_KINDS = ["compose-failure", "infrastructure-error"] as const;

export const ComposeError = z.looseObject({
  ...common,
  kind: z.enum(COMPOSE_ERROR_KINDS).describe("compose-failure: the change is at fault; infrastructure-error: the pipeline is"),
  reason: nonEmptyString,
  missing_dependency: nonEmptyString.optional().describe("What depsolving could not find, for a compose-failure"),
  failure: z.enum(["build-failure"]).optional().describe("A finer kind of compose-failure: build-failure = a dist-git head the composer built did not build (reason: the build log's tail)"),
  build: ScratchBuild.omit({ nvr: true, rpms: true }).optional().describe("With failure build-failure: the member that did not build"),
  log: nonEmptyString.optional().describe("Where the compose log is"),
});
export type ComposeError = z.output<typeof ComposeError>;

function nameOf(nevra: string): string {
  return nevra.split("-").slice(0, -2).join("-");
}

export const ComposeQueuedMessage = defineSchema({
  name: "atomic_ci.pipeline.ComposeQueuedV1",
  topic: composeTopic("queued"),
  body: ComposeQueued,
  description: "The composer accepted a change set and will compose it.",
  summary: (body) => `compose ${body.compose_id} queued for ${body.change_set_id}`,
});

export const ComposeRunningMessage = defineSchema({
  name: "atomic_ci.pipeline.ComposeRunningV1",
  topic: composeTopic("running"),
  body: ComposeRunning,
  description: "The composer started composing a change set.",
  summary: (body) => `compose ${body.compose_id} running for ${body.change_set_id}`,
});

export const ComposeCompleteMessage = defineSchema({
  name: "atomic_ci.pipeline.ComposeCompleteV1",
  topic: composeTopic("complete"),
  body: ComposeComplete,
  description: "A change set was composed into an OSTree commit (or an identical one was reused).",
  packages: (body) =>
    sortedUnique(
      [
        ...[...body.pkgdiff.added, ...body.pkgdiff.removed, ...[...body.pkgdiff.upgraded, ...body.pkgdiff.downgraded].map((u) => u.to)].map(nameOf),
        ...(body.scratch_builds ?? []).map((b) => b.package),
      ],
    ),
  summary: (body) => `compose ${body.compose_id}: ${body.ref} ${body.os_version} ${body.commit.slice(0, 12)}${body.reused ? " (reused)" : ""}`,
});

export const ComposeErrorMessage = defineSchema({
  name: "atomic_ci.pipeline.ComposeErrorV1",
  topic: composeTopic("error"),
  body: ComposeError,
  severity: Severity.ERROR,
  description: "A compose failed: because of the change (compose-failure) or of the pipeline (infrastructure-error).",
  summary: (body) => `compose ${body.compose_id} ${body.kind}: ${body.reason}`,
});
