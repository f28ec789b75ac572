import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema, Severity } from "../schema.js";
import { nonEmptyString } from "./common.js";
import { ArtifactLocation, ChangeSetId, PipelineGeneratedAt, PipelineSpecVersion } from "./pipeline-parts.js";

export const IMAGE_STATES = ["queued", "progress", "complete", "error"] as const;
export type ImageState = (typeof IMAGE_STATES)[number];

export function imageTopic(state: ImageState): `pipeline.image.${ImageState}` {
  return `pipeline.image.${state}`;
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
const Commit = z.string().regex(/^[0-9a-f]{64}$/, "must be a 64-hex OSTree checksum");
/** Image format ids: `qcow2`, `vagrant-libvirt`, `aws-vmdk`, `raw`, ... */
const ImageFormatName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be a lowercase format id");

const common = {
  change_set_id: ChangeSetId.optional().describe("The change set whose compose this is, when known"),
  compose_id: nonEmptyString.describe("The compose the images are built from"),
  ref: nonEmptyString.describe("OSTree ref"),
  commit: Commit,
  version: PipelineSpecVersion,
  generated_at: PipelineGeneratedAt,
};

export const ImageQueued = z.looseObject({
  ...common,
  formats: z.array(ImageFormatName).min(1).describe("Formats that will be built"),
});
export type ImageQueued = z.output<typeof ImageQueued>;

export const ImageProgress = z.looseObject({
  ...common,
  step: nonEmptyString.describe("The step starting: sysroot, disk, then one per format, then meta"),
  detail: nonEmptyString.optional(),
});
export type ImageProgress = z.output<typeof ImageProgress>;

export const ImageArtifact = z
  .looseObject({
    path: nonEmptyString.describe("Absolute path (or URL) of the artifact"),
    sha256: Sha256,
    size: z.number().int().nonnegative(),
    uncompressed_sha256: Sha256.optional().describe("Of the raw disk for qcow2/vmdk, of the tar for a Vagrant box"),
    uncompressed_size: z.number().int().nonnegative().optional(),
  })
  .meta({ id: "ImageArtifact" });
export type ImageArtifact = z.output<typeof ImageArtifact>;

export const ImageComplete = z.looseObject({
  ...common,
  os_version: nonEmptyString.describe("The commit's `version` metadata"),
  images: z.record(ImageFormatName, ImageArtifact).describe("Per format"),
  meta: ArtifactLocation.describe("coreos-assembler shaped meta.json"),
  reused: z.array(ImageFormatName).describe("Formats that already existed for this commit and were not rebuilt"),
});
export type ImageComplete = z.output<typeof ImageComplete>;

export const IMAGE_ERROR_KINDS = ["image-failure", "infrastructure-error"] as const;

export const ImageError = z.looseObject({
  ...common,
  kind: z.enum(IMAGE_ERROR_KINDS).describe("image-failure: the commit cannot be made into an image (e.g. not bootable); infrastructure-error: the pipeline is at fault"),
  reason: nonEmptyString,
  step: nonEmptyString.optional().describe("The step that failed"),
});
export type ImageError = z.output<typeof ImageError>;

export const ImageQueuedMessage = defineSchema({
  name: "atomic_ci.pipeline.ImageQueuedV1",
  topic: imageTopic("queued"),
  body: ImageQueued,
  description: "The image-builder accepted a compose and will build its images.",
  summary: (body) => `images of ${body.compose_id} queued: ${body.formats.join(", ")}`,
});

export const ImageProgressMessage = defineSchema({
  name: "atomic_ci.pipeline.ImageProgressV1",
  topic: imageTopic("progress"),
  body: ImageProgress,
  description: "The image-builder started a step of building a compose's images.",
  summary: (body) => `images of ${body.compose_id}: ${body.step}`,
});

export const ImageCompleteMessage = defineSchema({
  name: "atomic_ci.pipeline.ImageCompleteV1",
  topic: imageTopic("complete"),
  body: ImageComplete,
  description: "A compose's images were built (or found already built) with their checksums and meta.json.",
  summary: (body) => `images of ${body.compose_id} (${body.os_version}): ${Object.keys(body.images).sort().join(", ")}`,
});

export const ImageErrorMessage = defineSchema({
  name: "atomic_ci.pipeline.ImageErrorV1",
  topic: imageTopic("error"),
  body: ImageError,
  severity: Severity.ERROR,
  description: "Building a compose's images failed.",
  summary: (body) => `images of ${body.compose_id} ${body.kind}: ${body.reason}`,
});

/** The image-builder's messages: `pipeline.image.<event>` under the configured prefix. */
export const PIPELINE_IMAGE_FAMILY: MessageFamily = {
  id: "pipeline-image",
  title: "atomic-ci pipeline: images",
  description: "Messages the image-builder emits while and after building a compose's images (qcow2, Vagrant, AWS).",
  schemas: [ImageQueuedMessage, ImageProgressMessage, ImageCompleteMessage, ImageErrorMessage],
};
