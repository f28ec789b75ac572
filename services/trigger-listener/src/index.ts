import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import { triggerListenerConfigSchema, type TriggerListenerConfig } from "./config.js";
import type { TriggerPorts, TriggerRules } from "./core/types.js";
import { TriggerListener } from "./listener.js";
import { MemoryChangeSetStore, type ChangeSetStore } from "./store.js";

export { triggerListenerConfigSchema, type TriggerListenerConfig } from "./config.js";
export { MemoryChangeSetStore, type ChangeSetStore } from "./store.js";

export const SERVICE_NAME = "trigger-listener";

/** Upstream events that can start a pipeline run, and operator requests from the CLI. */
export const DEFAULT_BINDINGS: readonly string[] = [
  // Any Fedora environment (prod, stg): the handler decides what concerns the host.
  "org.fedoraproject.*.buildsys.build.state.change",
  "org.fedoraproject.*.buildsys.tag",
  "org.fedoraproject.*.git.receive",
  "org.fedoraproject.*.bodhi.update.#",
  "org.fedoraproject.*.pagure.pull-request.#",
  "org.fedoraproject.*.pungi.compose.status.change",
  // Under whatever prefix the CLI publishes with (`bus.topicPrefix`).
  "#.pipeline.operator.request",
];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

export interface TriggerListenerOptions {
  /** Default: in memory (embedded mode). */
  store?: ChangeSetStore;
  /** Default: the system clock. */
  now?: () => Date;
}

/** The core's rules, from the config section. */
export function rulesOf(config: TriggerListenerConfig): TriggerRules {
  const { candidateTag, branch, definitionRepo, batchWindowMs, retentionMs } = config.triggerListener;
  return { candidateTag, branch, definitionRepo, batchWindowMs, retentionMs };
}

/** trigger-listener: filters upstream Fedora events to host packages and groups them into change sets. */
export function createTriggerListenerService(options: TriggerListenerOptions = {}): ServiceDefinition<TriggerListenerConfig> & { bindings: readonly string[] } {
  return {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: triggerListenerConfigSchema,
    async setup(ctx) {
      const host = new Set(ctx.config.triggerListener.hostPackages);
      if (host.size === 0) ctx.logger.warn("triggerListener.hostPackages is empty: every package change will be ignored as not-in-host");
      const ports: TriggerPorts = { hostPackages: () => host, now: options.now ?? (() => new Date()) };
      const store = options.store ?? new MemoryChangeSetStore();
      const listener = new TriggerListener({ bus: ctx.bus, store, rules: rulesOf(ctx.config), ports, logger: ctx.logger });
      // Stop the window timer before the transport closes; the store keeps what is pending.
      ctx.onShutdown("batching-window", () => listener.stop());
      ctx.onShutdown("change-set-store", () => store.close());
      await listener.start();
      await ctx.consume((message: BusMessage, context: HandlerContext) => listener.handle(message, context));
    },
  };
}
