import { resolve } from "node:path";
import { BusError, type BusMessage, type HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import type { Logger } from "@atomic-ci/telemetry";
import { repositoryResolver, type ToolEnv } from "@atomic-ci/tools";
import { publisherConfigSchema, type PublisherConfig } from "./config.js";
import { HttpGateChecker, type GateChecker } from "./gate.js";
import { GitPolicySource, StaticPolicySource, type PolicySource } from "./policy-source.js";
import { Publisher } from "./publisher.js";
import { RedisPublisherStore } from "./redis-store.js";
import { MemoryPublisherStore, type PublisherStore } from "./store.js";

export { DEFAULT_GATE_CONTEXTS, publisherConfigSchema, type PublisherConfig, type PublisherSection } from "./config.js";
export {
  allowedAt,
  decide,
  describeSchedule,
  nextOpening,
  plan,
  reasonsKey,
  scheduleBlock,
  windowStart,
  type CandidateView,
  type Decision,
  type DecideInput,
  type HoldKind,
  type HoldReason,
  type ManualHold,
  type PlanInput,
  type StreamPlan,
  type StreamState,
} from "./decide.js";
export { DECISION_PATH, GateUnreachableError, HttpGateChecker, type GateAnswer, type GateChecker, type HttpGateCheckerOptions } from "./gate.js";
export { deliveredBody, heldBody, holdChangeBody, rolledBackBody } from "./messages.js";
export { DeliveryPolicy, DeliveryPolicyError, GATE_SOURCE, parseDeliveryPolicy, streamOrder, WEEKDAYS, WINDOWS, type Schedule, type StreamPolicy } from "./policy.js";
export { GitPolicySource, StaticPolicySource, type GitPolicySourceOptions, type PolicyLoad, type PolicySource } from "./policy-source.js";
export { orderOf, Publisher, type EvaluationReport, type PublisherDeps } from "./publisher.js";
export { DEFAULT_PUBLISHER_PREFIX, RedisPublisherStore, type RedisPublisherStoreOptions } from "./redis-store.js";
export { MemoryPublisherStore, type Candidate, type CandidateStream, type PublisherStore, type StoredHold, type StoredStream } from "./store.js";

export const SERVICE_NAME = "publisher";

/** Gate decisions, what the composer and the image-builder made, and operator requests, under whatever prefix they are published with. */
export const DEFAULT_BINDINGS: readonly string[] = [
  "#.greenwave.decision.update",
  "#.pipeline.compose.complete",
  "#.pipeline.image.complete",
  "#.pipeline.operator.request",
];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** Where the tools are when the caller hands in no environment (services never read process.env themselves). */
const DEFAULT_TOOL_ENV: ToolEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

export interface PublisherOptions {
  /** Environment for ostree, gpg, xz and git (PATH above all); the process entry point passes its own. */
  env?: ToolEnv;
  /** Default: the system clock. */
  now?: () => Date;
  /** Default: Redis when `redis.url` is set, else in memory. */
  store?: PublisherStore;
  /** Default: the gatekeeper at `publisher.gatekeeperUrl` (none when unset: nothing is delivered). */
  gate?: GateChecker;
  /** Default: `publisher.definition` read with git (none when its repo is unset: nothing is delivered). */
  policy?: PolicySource;
}

export type PublisherServiceDefinition = ServiceDefinition<PublisherConfig> & {
  bindings: readonly string[];
  /** Set once setup ran: the publisher itself (tests and the demo evaluate it directly). */
  running?: Publisher;
};

/** publisher: delivers gated composes to the public tree under the delivery policy (docs/publishing.md, "The publisher service"). */
export function createPublisherService(options: PublisherOptions = {}): PublisherServiceDefinition {
  const definition: PublisherServiceDefinition = {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: publisherConfigSchema,
    async setup(ctx) {
      const settings = ctx.config.publisher;
      const tools = { env: options.env ?? DEFAULT_TOOL_ENV };
      const store = options.store ?? (await createStore(ctx.config, ctx.logger));
      const gate =
        options.gate ?? (settings.gatekeeperUrl ? new HttpGateChecker({ baseUrl: settings.gatekeeperUrl, productVersion: settings.productVersion }) : undefined);
      const policy =
        options.policy ??
        (settings.definition.repo
          ? new GitPolicySource(
              {
                repo: settings.definition.repo,
                branch: settings.definition.branch,
                path: settings.definition.path,
                resolver: repositoryResolver(settings.definition.repo, { cacheDir: resolve(settings.definition.mirrorDir), maxAgeMs: settings.definition.refreshSeconds * 1000, tools }),
              },
              tools,
            )
          : new StaticPolicySource(undefined));
      const missing = [
        ...(settings.gpg.homedir && settings.gpg.keyId ? [] : ["publisher.gpg"]),
        ...(gate ? [] : ["publisher.gatekeeperUrl"]),
        ...(settings.definition.repo || options.policy ? [] : ["publisher.definition.repo"]),
      ];
      if (missing.length > 0) ctx.logger.warn({ missing }, "the publisher is not configured to deliver: composes are recorded and held until it is");
      const publisher = new Publisher({ bus: ctx.bus, store, settings, policy, gate, tools, logger: ctx.logger, metrics: ctx.metrics, now: options.now ?? (() => new Date()) });
      // Stop the timer and let a running evaluation finish before the store and the transport close.
      ctx.onShutdown("publisher-timer", () => publisher.stop());
      if (!options.store) ctx.onShutdown("publisher-store", () => store.close());
      definition.running = publisher;
      await ctx.consume((message: BusMessage, context: HandlerContext) => publisher.handle(message, context));
      publisher.start();
    },
  };
  return definition;
}

/** Redis when `redis.url` is set (state survives restarts), else in memory (embedded mode). */
async function createStore(config: PublisherConfig, logger: Logger): Promise<PublisherStore> {
  if (!config.redis.url) return new MemoryPublisherStore();
  let warned = false;
  const store = new RedisPublisherStore({
    url: config.redis.url,
    prefix: config.publisher.stateKeyPrefix,
    onError: (err) => {
      if (warned) return;
      warned = true;
      logger.warn({ err: err.message }, "Redis connection error (publisher store); ioredis keeps reconnecting");
    },
  });
  try {
    await store.connect();
  } catch (err) {
    await store.close();
    // As for the idempotency store: an unreachable Redis fails the start with exit code 14.
    throw new BusError("CONNECTION", `publisher store: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return store;
}
