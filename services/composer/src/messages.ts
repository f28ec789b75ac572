// The composer's message bodies, from the compose engine's typed results (pure: unit-tested).
import { createHash } from "node:crypto";
import type { Composed, ComposeFailure, PackageDiff as EngineDiff } from "@atomic-ci/compose";
import { compareEvr, parseEvra } from "@atomic-ci/host-definition";
import { PIPELINE_SPEC_VERSION, type ChangeSetQueued, type ComposeComplete, type ComposeError, type PackageDiff } from "@atomic-ci/messages";
import { tail } from "@atomic-ci/tools";
import type { ScratchBuild, ScratchMember } from "./scratch.js";

/**
 * One compose id per change set: a redelivered change set is the same compose (and, through
 * the input hash, the same commit), so consumers see the same id again rather than a new one.
 */
export function composeIdOf(changeSetId: string): string {
  return `ci-${changeSetId}`;
}

/** Build members' NVRs: the builds whose RPMs the compose takes from the candidates repository. */
export function buildNvrs(changeSet: Pick<ChangeSetQueued, "members">): string[] {
  return [...new Set(changeSet.members.flatMap((m) => (m.kind === "build" ? [m.nvr] : [])))].sort();
}

/** The engine's `changed` split into upgrades and downgrades (by rpm's EVR order), as full NEVRAs. */
export function pkgdiffOf(diff: EngineDiff): PackageDiff {
  const out: PackageDiff = { added: [...diff.added], removed: [...diff.removed], upgraded: [], downgraded: [] };
  for (const change of diff.changed) {
    const entry = { from: `${change.name}-${change.from}`, to: `${change.name}-${change.to}` };
    (compareEvr(parseEvra(change.to), parseEvra(change.from)) < 0 ? out.downgraded : out.upgraded).push(entry);
  }
  return out;
}

function common(changeSetId: string, now: Date) {
  return { change_set_id: changeSetId, compose_id: composeIdOf(changeSetId), version: PIPELINE_SPEC_VERSION, generated_at: now.toISOString() };
}

export function queuedBody(changeSetId: string, now: Date) {
  return common(changeSetId, now);
}

/**
 * What the compose built itself, as `scratch_builds` in compose.complete: which commit of which
 * dist-git repository (or pull request) gave which RPMs. The package diff alone cannot say it:
 * a scratch build that does not bump the release has the NEVRA of the package it replaced.
 */
export function scratchBuildsField(builds: readonly ScratchBuild[]): Pick<ComposeComplete, "scratch_builds"> {
  if (builds.length === 0) return {};
  return {
    scratch_builds: builds.map((b) => ({ kind: b.kind, package: b.package, repo: b.repo, rev: b.rev, ...(b.prUrl ? { pr_url: b.prUrl } : {}), nvr: b.nvr, rpms: [...b.rpms] })),
  };
}

/** `pipeline.compose.complete`: where the commit is and what it holds. */
export function completeBody(changeSetId: string, result: Composed, repo: string, now: Date, builds: readonly ScratchBuild[] = []): ComposeComplete {
  return {
    ...common(changeSetId, now),
    ref: result.ref,
    commit: result.commit,
    parent: result.parent ?? null,
    os_version: result.version,
    input_hash: result.inputHash,
    repo: { location: repo },
    // The engine writes the lockfile beside the compose JSON: `<id>.json` and `<id>.lock.json`.
    lockfile: { location: result.composeJson.replace(/\.json$/, ".lock.json"), sha256: createHash("sha256").update(result.lockfile).digest("hex") },
    compose_json: { location: result.composeJson },
    pkgdiff: pkgdiffOf(result.pkgdiff),
    reused: result.reused,
    timestamp: new Date(result.timestamp * 1000).toISOString(),
    ...scratchBuildsField(builds),
  };
}

/** A scratch build that failed: a compose failure (the change is at fault) that says so. */
export interface BuildFailure {
  type: "build-failure";
  reason: string;
  member: Pick<ScratchMember, "kind" | "package" | "repo" | "rev" | "prUrl">;
}

/** compose.error's reason is capped: a build log tail fits, a whole log does not. */
export const ERROR_REASON_MAX_BYTES = 4096;

export function errorBody(
  changeSetId: string,
  failure: ComposeFailure | BuildFailure | { type: "infrastructure-error"; reason: string },
  now: Date,
): ComposeError {
  const reason = failure.reason.trim() || "(no reason given)";
  if (failure.type === "build-failure") {
    // A compose failure (the change's fault, acked; culprit searches count it) whose `failure`
    // says which kind, and `build` which member: consumers of V1 keep working on `kind`.
    const { member } = failure;
    const build = { kind: member.kind, package: member.package, repo: member.repo, rev: member.rev, ...(member.prUrl ? { pr_url: member.prUrl } : {}) };
    return { ...common(changeSetId, now), kind: "compose-failure", reason: tail(reason, ERROR_REASON_MAX_BYTES), failure: "build-failure", build };
  }
  return {
    ...common(changeSetId, now),
    kind: failure.type,
    reason,
    ...(failure.type === "compose-failure" && failure.missingDependency ? { missing_dependency: failure.missingDependency } : {}),
  };
}
