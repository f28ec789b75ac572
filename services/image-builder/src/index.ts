import { AwsUploader } from "@atomic-ci/aws";
import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import type { ToolEnv } from "@atomic-ci/tools";
import { ImageBuilder, type ImageBuilderDeps } from "./builder.js";
import { imageBuilderConfigSchema, type ImageBuilderConfig } from "./config.js";

export { IMAGE_TRIGGERS, imageBuilderConfigSchema, type ImageBuilderConfig, type ImageBuilderSection, type ImageTrigger } from "./config.js";
export { AWS_STEP, classifyFailure, ImageBuilder, worthRetrying, type CloudUploader, type ImageBuilderDeps } from "./builder.js";
export { AMIS_FILE, AmisRecord, recordAmis, recordedAmis } from "./amis.js";
export { checkComposeRepo, type RepoCheckInput, type RepoCheckOptions, type RepoVerdict } from "./repo.js";
export { COMPOSE_GATE_CONTEXT, ComposeGateTrigger, type GateAnswer } from "./trigger.js";
export { completeBody, errorBody, progressBody, queuedBody } from "./messages.js";

export const SERVICE_NAME = "image-builder";

/** The composer's compose-complete messages, under whatever prefix it publishes with. */
export const DEFAULT_BINDINGS: readonly string[] = ["#.pipeline.compose.complete"];

/** What the compose-gate trigger binds besides: the gatekeeper's decisions, under whatever prefix. */
export const DECISION_BINDING = "#.greenwave.decision.update";

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** Where the tools are when the caller hands in no environment (services never read process.env themselves). */
const DEFAULT_TOOL_ENV: ToolEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

export interface ImageBuilderOptions {
  /** Environment for ostree, mkfs.ext4, sfdisk, qemu-img (PATH above all); the process entry point passes its own. */
  env?: ToolEnv;
  /** Default: the system clock. */
  now?: () => Date;
  /** The image engine (default @atomic-ci/images' buildImages); tests of the triggers replace it. */
  build?: ImageBuilderDeps["build"];
  /** The repository check (default checkComposeRepo); tests whose engine reads no repository replace it. */
  checkRepo?: ImageBuilderDeps["checkRepo"];
}

/** image-builder: builds the images of each composed commit (docs/images.md, "The service"). */
export function createImageBuilderService(options: ImageBuilderOptions = {}): ServiceDefinition<ImageBuilderConfig> & { bindings: readonly string[] } {
  return {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: imageBuilderConfigSchema,
    async setup(ctx) {
      const settings = ctx.config.imageBuilder;
      let aws: AwsUploader | undefined;
      if (settings.aws.enabled && !settings.formats.includes("aws-vmdk")) {
        ctx.logger.warn({ formats: settings.formats }, "imageBuilder.aws.enabled but aws-vmdk is not among the formats: nothing will be uploaded");
      }
      if (settings.aws.enabled) {
        aws = new AwsUploader(settings.aws, { log: ctx.logger });
        const uploader = aws;
        ctx.onShutdown("aws clients", () => uploader.close());
      }
      const builder = new ImageBuilder({
        bus: ctx.bus,
        settings,
        maxDeliveries: ctx.config.bus.maxDeliveries,
        tools: { env: options.env ?? DEFAULT_TOOL_ENV },
        now: options.now ?? (() => new Date()),
        ...(aws ? { aws } : {}),
        ...(options.build ? { build: options.build } : {}),
        ...(options.checkRepo ? { checkRepo: options.checkRepo } : {}),
      });
      // The compose-gate trigger also needs the decisions; configured bindings are kept as they are.
      const bindings = ctx.config.bus.bindings;
      const overrides = settings.trigger === "compose-gate" && bindings.length > 0 && !bindings.includes(DECISION_BINDING) ? { bindings: [...bindings, DECISION_BINDING] } : {};
      await ctx.consume((message: BusMessage, context: HandlerContext) => builder.handle(message, context), overrides);
    },
  };
}
