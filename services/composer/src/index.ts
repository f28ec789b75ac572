import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import type { ToolEnv } from "@atomic-ci/tools";
import { Composer } from "./composer.js";
import { composerConfigSchema, type ComposerConfig } from "./config.js";

export { composerConfigSchema, type ComposerConfig, type ComposerSection } from "./config.js";
export { Composer, type ComposerDeps } from "./composer.js";
export { checkoutDefinition, type CheckoutRequest } from "./checkout.js";
export { buildNvrs, composeIdOf, pkgdiffOf } from "./messages.js";
export { parsePrimary, readPrimary, rpmsOfBuilds } from "./repodata.js";

export const SERVICE_NAME = "composer";

/** trigger-listener's change sets, under whatever prefix it publishes with. */
export const DEFAULT_BINDINGS: readonly string[] = ["#.pipeline.change-set.queued"];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** Where the tools are when the caller hands in no environment (services never read process.env themselves). */
const DEFAULT_TOOL_ENV: ToolEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

export interface ComposerOptions {
  /** Environment for git, dnf, rpm and ostree (PATH above all); the process entry point passes its own. */
  env?: ToolEnv;
  /** Default: the system clock. */
  now?: () => Date;
}

/** composer: composes each change set into an OSTree commit of the host (docs/composer.md, "The service"). */
export function createComposerService(options: ComposerOptions = {}): ServiceDefinition<ComposerConfig> & { bindings: readonly string[] } {
  return {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: composerConfigSchema,
    async setup(ctx) {
      const settings = ctx.config.composer;
      if (!settings.definition.repo) ctx.logger.warn("composer.definition.repo is not set: every change set will fail with an infrastructure error");
      const composer = new Composer({
        bus: ctx.bus,
        settings,
        maxDeliveries: ctx.config.bus.maxDeliveries,
        tools: { env: options.env ?? DEFAULT_TOOL_ENV },
        now: options.now ?? (() => new Date()),
      });
      await ctx.consume((message: BusMessage, context: HandlerContext) => composer.handle(message, context));
    },
  };
}
