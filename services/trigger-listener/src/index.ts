import { BusError, type BusMessage, type HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import type { Logger } from "@atomic-ci/telemetry";
import { triggerListenerConfigSchema, type TriggerListenerConfig } from "./config.js";
import type { TriggerPorts, TriggerRules } from "./core/types.js";
import { TriggerListener } from "./listener.js";
import { loadHostPackages } from "./host-packages.js";
import { RedisChangeSetStore } from "./redis-store.js";
import { MemoryChangeSetStore, type ChangeSetStore } from "./store.js";

export { triggerListenerConfigSchema, type TriggerListenerConfig } from "./config.js";
export { loadHostPackages, type HostPackages } from "./host-packages.js";
export { DEFAULT_STATE_KEY, RedisChangeSetStore, type RedisChangeSetStoreOptions } from "./redis-store.js";
export { MemoryChangeSetStore, type ChangeSetStore, type VersionedState } from "./store.js";

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
  /** Default: Redis when `redis.url` is set (restarts, replicas), else in memory (embedded mode). */
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
      const { names: host, counts } = await loadHostPackages(ctx.config.triggerListener);
      if (host.size === 0) ctx.logger.warn("no host packages (triggerListener.hostPackages and triggerListener.definition are empty): every package change will be ignored as not-in-host");
      else ctx.logger.info({ host_packages: host.size, from: counts }, "host packages");
      const ports: TriggerPorts = { hostPackages: () => host, now: options.now ?? (() => new Date()) };
      const store = options.store ?? (await createStore(ctx.config, ctx.logger));
      const listener = new TriggerListener({ bus: ctx.bus, store, rules: rulesOf(ctx.config), ports, logger: ctx.logger });
      // Stop the window timer before the store and the transport close; the store keeps what is pending.
      ctx.onShutdown("batching-window", () => listener.stop());
      ctx.onShutdown("change-set-store", () => store.close());
      await listener.start();
      await ctx.consume((message: BusMessage, context: HandlerContext) => listener.handle(message, context));
    },
  };
}

/** Redis when `redis.url` is set (state survives restarts, replicas share it), else in memory. */
async function createStore(config: TriggerListenerConfig, logger: Logger): Promise<ChangeSetStore> {
  if (!config.redis.url) return new MemoryChangeSetStore();
  let warned = false;
  const store = new RedisChangeSetStore({
    url: config.redis.url,
    key: config.triggerListener.stateKey,
    onError: (err) => {
      if (warned) return;
      warned = true;
      logger.warn({ err: err.message }, "Redis connection error (change set store); ioredis keeps reconnecting");
    },
  });
  try {
    await store.connect();
  } catch (err) {
    await store.close();
    // As for the idempotency store: an unreachable Redis fails the start with exit code 14.
    throw new BusError("CONNECTION", `change set store: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return store;
}
