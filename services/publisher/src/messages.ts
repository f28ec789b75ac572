// The publisher's message bodies (pure: unit-tested).
import { PIPELINE_SPEC_VERSION, type ReleaseDelivered, type ReleaseHeld, type ReleaseHoldChange, type ReleaseRolledBack } from "@atomic-ci/messages";
import type { HoldReason } from "./decide.js";
import type { Candidate } from "./store.js";

function common(stream: string, now: Date) {
  return { version: PIPELINE_SPEC_VERSION, generated_at: now.toISOString(), stream };
}

function about(candidate: Candidate) {
  const compose = candidate.compose;
  return {
    commit: candidate.commit,
    ...(compose ? { ref: compose.ref, compose_id: compose.composeId } : {}),
    ...(compose?.changeSetId ? { change_set_id: compose.changeSetId } : {}),
  };
}

export function heldBody(stream: string, candidate: Candidate, osVersion: string, reasons: readonly HoldReason[], now: Date): ReleaseHeld {
  return {
    ...common(stream, now),
    os_version: osVersion,
    ...about(candidate),
    reasons: reasons.map((r) => ({ kind: r.kind, detail: r.detail, ...(r.until ? { until: r.until.toISOString() } : {}) })),
  };
}

export interface DeliveredWhere {
  ref: string;
  repo: string;
  streamMetadata: string;
  releaseMetadata: string;
  images: string[];
  alreadyPromoted: boolean;
  fromStream?: string;
}

export function deliveredBody(stream: string, candidate: Candidate, osVersion: string, where: DeliveredWhere, now: Date): ReleaseDelivered {
  return {
    ...common(stream, now),
    os_version: osVersion,
    ...about(candidate),
    ref: where.ref,
    ...(where.fromStream ? { from_stream: where.fromStream } : {}),
    already_promoted: where.alreadyPromoted,
    public: { repo: where.repo, stream_metadata: where.streamMetadata, release_metadata: where.releaseMetadata, images: where.images },
  };
}

export function rolledBackBody(
  stream: string,
  result: { version: string; commit: string; ref: string; withdrawn: string[]; alreadyThere: boolean },
  by: string,
  reason: string,
  now: Date,
): ReleaseRolledBack {
  return {
    ...common(stream, now),
    os_version: result.version,
    commit: result.commit,
    ref: result.ref,
    withdrawn: result.withdrawn,
    already_there: result.alreadyThere,
    requested_by: by,
    reason,
  };
}

export function holdChangeBody(stream: string, by: string, reason: string, now: Date): ReleaseHoldChange {
  return { ...common(stream, now), requested_by: by, reason };
}
