// The composer's message bodies, from the compose engine's typed results (pure: unit-tested).
import { createHash } from "node:crypto";
import type { Composed, ComposeFailure, PackageDiff as EngineDiff } from "@atomic-ci/compose";
import { compareEvr, parseEvra } from "@atomic-ci/host-definition";
import { PIPELINE_SPEC_VERSION, type ChangeSetQueued, type ComposeComplete, type ComposeError, type PackageDiff } from "@atomic-ci/messages";

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

/** `pipeline.compose.complete`: where the commit is and what it holds. */
export function completeBody(changeSetId: string, result: Composed, repo: string, now: Date): ComposeComplete {
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
  };
}

export function errorBody(
  changeSetId: string,
  failure: ComposeFailure | { type: "infrastructure-error"; reason: string },
  now: Date,
): ComposeError {
  const reason = failure.reason.trim() || "(no reason given)";
  return {
    ...common(changeSetId, now),
    kind: failure.type,
    reason,
    ...(failure.type === "compose-failure" && failure.missingDependency ? { missing_dependency: failure.missingDependency } : {}),
  };
}
