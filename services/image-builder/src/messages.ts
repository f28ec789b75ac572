// The image-builder's message bodies, from a compose-complete message and buildImages' result (pure: unit-tested).
import { join } from "node:path";
import type { BuiltImages } from "@atomic-ci/images";
import { PIPELINE_SPEC_VERSION, type ComposeComplete, type ImageComplete, type ImageError, type ImageProgress, type ImageQueued } from "@atomic-ci/messages";

export type ImageFailureKind = ImageError["kind"];

function common(compose: ComposeComplete, now: Date) {
  return {
    change_set_id: compose.change_set_id,
    compose_id: compose.compose_id,
    ref: compose.ref,
    commit: compose.commit,
    version: PIPELINE_SPEC_VERSION,
    generated_at: now.toISOString(),
  };
}

export function queuedBody(compose: ComposeComplete, formats: readonly string[], now: Date): ImageQueued {
  return { ...common(compose, now), formats: [...formats] };
}

export function progressBody(compose: ComposeComplete, step: string, detail: string, now: Date): ImageProgress {
  return { ...common(compose, now), step, ...(detail ? { detail } : {}) };
}

/** `pipeline.image.complete`: absolute paths (the outDir is storage the services share), checksums as in meta.json. */
export function completeBody(compose: ComposeComplete, built: BuiltImages, formats: readonly string[], now: Date): ImageComplete {
  const images: ImageComplete["images"] = {};
  for (const format of formats) {
    const entry = built.meta.images[format];
    if (!entry) continue;
    images[format] = {
      path: join(built.dir, entry.path),
      sha256: entry.sha256,
      size: entry.size,
      ...(entry["uncompressed-sha256"] === undefined ? {} : { uncompressed_sha256: entry["uncompressed-sha256"] }),
      ...(entry["uncompressed-size"] === undefined ? {} : { uncompressed_size: entry["uncompressed-size"] }),
    };
  }
  return { ...common(compose, now), os_version: built.meta.buildid, images, meta: { location: built.metaPath }, reused: [...built.reused] };
}

export function errorBody(compose: ComposeComplete, kind: ImageFailureKind, reason: string, step: string | undefined, now: Date): ImageError {
  return { ...common(compose, now), kind, reason: reason.trim() || "(no reason given)", ...(step ? { step } : {}) };
}
