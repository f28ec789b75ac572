import { commonConfigSchema } from "@atomic-ci/runtime";
import { awsConfigSchema } from "@atomic-ci/aws";
import { DEFAULT_FORMATS, IMAGE_FORMATS } from "@atomic-ci/images";
import { z } from "zod";

export const IMAGE_TRIGGERS = ["compose", "compose-gate"] as const;
export type ImageTrigger = (typeof IMAGE_TRIGGERS)[number];

/** The `imageBuilder` section: where images go, where the scratch space is, which formats to build, when, and the AWS upload. */
export const imageBuilderConfigSchema = commonConfigSchema.extend({
  imageBuilder: z
    .strictObject({
      outDir: z.string().min(1).default(".cache/image-builder/images").describe("Content-addressed output: <outDir>/<commit>/<key>/<format>/ and meta.json"),
      workDir: z.string().min(1).default(".cache/image-builder/work").describe("Scratch space: the sysroot and the raw disk of a build (removed afterwards)"),
      formats: z
        .array(z.enum(IMAGE_FORMATS))
        .min(1)
        .default([...DEFAULT_FORMATS])
        .describe("Formats built for every compose: qcow2, vagrant-libvirt, aws-vmdk, raw"),
      trigger: z
        .enum(IMAGE_TRIGGERS)
        .default("compose")
        .describe("compose: build on every pipeline.compose.complete; compose-gate: only once the commit's atomic_ci_compose_gate decision is satisfied"),
      gateMemory: z
        .int()
        .min(1)
        .max(100_000)
        .default(1000)
        .describe("compose-gate: how many composes (and early decisions) are remembered, in memory, while they wait"),
      repoRoots: z
        .array(z.string().min(1))
        .default([])
        .describe(
          "Directories a compose.complete's repo.location must be in (the composer's ostreeRepo, or a directory above it); a message naming another place is dead-lettered. Empty: anywhere",
        ),
      aws: awsConfigSchema.prefault({}).describe("Upload of the aws-vmdk image as AMIs (docs/images.md, Cloud upload)"),
    })
    .prefault({}),
});

export type ImageBuilderConfig = z.output<typeof imageBuilderConfigSchema>;
export type ImageBuilderSection = ImageBuilderConfig["imageBuilder"];
