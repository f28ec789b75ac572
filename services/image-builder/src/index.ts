import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import type { ToolEnv } from "@atomic-ci/tools";
import { ImageBuilder } from "./builder.js";
import { imageBuilderConfigSchema, type ImageBuilderConfig } from "./config.js";

export { imageBuilderConfigSchema, type ImageBuilderConfig, type ImageBuilderSection } from "./config.js";
export { classifyFailure, ImageBuilder, type ImageBuilderDeps } from "./builder.js";
export { completeBody, errorBody, progressBody, queuedBody } from "./messages.js";

export const SERVICE_NAME = "image-builder";

/** The composer's compose-complete messages, under whatever prefix it publishes with. */
export const DEFAULT_BINDINGS: readonly string[] = ["#.pipeline.compose.complete"];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** Where the tools are when the caller hands in no environment (services never read process.env themselves). */
const DEFAULT_TOOL_ENV: ToolEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

export interface ImageBuilderOptions {
  /** Environment for ostree, mkfs.ext4, sfdisk, qemu-img (PATH above all); the process entry point passes its own. */
  env?: ToolEnv;
  /** Default: the system clock. */
  now?: () => Date;
}

/** image-builder: builds the images of each composed commit (docs/images.md, "The service"). */
export function createImageBuilderService(options: ImageBuilderOptions = {}): ServiceDefinition<ImageBuilderConfig> & { bindings: readonly string[] } {
  return {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: imageBuilderConfigSchema,
    async setup(ctx) {
      const builder = new ImageBuilder({
        bus: ctx.bus,
        settings: ctx.config.imageBuilder,
        maxDeliveries: ctx.config.bus.maxDeliveries,
        tools: { env: options.env ?? DEFAULT_TOOL_ENV },
        now: options.now ?? (() => new Date()),
      });
      await ctx.consume((message: BusMessage, context: HandlerContext) => builder.handle(message, context));
    },
  };
}
