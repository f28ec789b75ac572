import { commonConfigSchema } from "@atomic-ci/runtime";
import { DEFAULT_FORMATS, IMAGE_FORMATS } from "@atomic-ci/images";
import { z } from "zod";

/** The `imageBuilder` section: where images go, where the scratch space is, which formats to build. */
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
    })
    .prefault({}),
});

export type ImageBuilderConfig = z.output<typeof imageBuilderConfigSchema>;
export type ImageBuilderSection = ImageBuilderConfig["imageBuilder"];
