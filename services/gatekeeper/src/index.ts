import { resolve } from "node:path";
import { BusError, type BusMessage, type HandlerContext } from "@atomic-ci/bus";
import type { Decision, Policy } from "@atomic-ci/gating";
import {
  CHANGE_SET_QUEUED_TOPIC,
  ChangeSetQueued,
  ComposeComplete,
  ComposeError,
  composeTopic,
  ResultsdbResult,
  topicHasSuffix,
  WaiverdbWaiver,
  RESULTSDB_RESULT_NEW_TOPIC,
  WAIVERDB_WAIVER_NEW_TOPIC,
} from "@atomic-ci/messages";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import { MirroredDistGit, repositoryResolver, type ToolEnv } from "@atomic-ci/tools";
import { closeServer, listen } from "@atomic-ci/http";
import { createApiServer } from "./api.js";
import { gatekeeperConfigSchema, type GatekeeperConfig } from "./config.js";
import { DistGit } from "./distgit.js";
import { CulpritFinder } from "./culprits/finder.js";
import { Gatekeeper, storedLogLine, type StoredInput } from "./gatekeeper.js";
import { PolicyWatch } from "./policy-watch.js";
import { RedisStores } from "./redis-store.js";
import { memoryStores, ResultView, type GatekeeperStores } from "./store.js";
import { UngatedChanges } from "./ungated.js";
import type { Logger } from "@atomic-ci/telemetry";

export { gatekeeperConfigSchema, type GatekeeperConfig, type GatekeeperSection } from "./config.js";
export { DEFAULT_COMPOSE_GATES, Gatekeeper, storedLogLine, type GatekeeperDeps, type GatekeeperSettings, type StoredInput, type WaiverInput } from "./gatekeeper.js";
export { WAIVERS_PATH, WaiverRequest } from "./api.js";
export { DistGit, specBuilds, splitNvr } from "./distgit.js";
export { loadPolicies, parsePolicyFiles } from "./policies.js";
export {
  commitOfResult,
  memoryStores,
  MemoryCulpritStore,
  MemoryDecisionStore,
  MemoryResultStore,
  MemoryWaiverStore,
  ResultView,
  type CulpritStore,
  type DecisionStore,
  type GatekeeperStores,
  type ResultStore,
  type SearchState,
  type WaiverStore,
} from "./store.js";
export { REDIS_STORE_DEFAULTS, RedisStores, type RedisStoresOptions } from "./redis-store.js";
export { findCulprits, memberSetKey, type Culprit, type CulpritReport, type FindOptions, type Oracle, type Unit, type Verdict } from "./culprits/core.js";
export { CulpritFinder, unitsOf, verdictOf, type CulpritFinderDeps } from "./culprits/finder.js";
export { UngatedChanges } from "./ungated.js";

/** How often the oldest-ungated-change gauge is refreshed between events. */
const UNGATED_GAUGE_INTERVAL_MS = 15_000;

export const SERVICE_NAME = "gatekeeper";

/**
 * ResultsDB's new results (the test-runner's) and WaiverDB's new waivers, under any prefix; and
 * change sets and their composes, for culprit finding.
 */
export const DEFAULT_BINDINGS: readonly string[] = [
  `#.${RESULTSDB_RESULT_NEW_TOPIC}`,
  `#.${WAIVERDB_WAIVER_NEW_TOPIC}`,
  `#.${CHANGE_SET_QUEUED_TOPIC}`,
  `#.${composeTopic("complete")}`,
  `#.${composeTopic("error")}`,
];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

const DEFAULT_TOOL_ENV: ToolEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

export interface GatekeeperOptions {
  /** Environment for git (PATH); the process entry point passes its own. */
  env?: ToolEnv;
  now?: () => Date;
  /** Default: Redis when `redis.url` is set (state survives a restart), else in memory. */
  stores?: GatekeeperStores;
}

/** What a started gatekeeper exposes to whoever ran it (tests, the all-in-one runner). */
export interface GatekeeperRunning {
  gatekeeper: Gatekeeper;
  apiPort: number;
  /** Absent when `gatekeeper.culprits.enabled` is false. */
  culprits?: CulpritFinder;
}

export type GatekeeperServiceDefinition = ServiceDefinition<GatekeeperConfig> & {
  bindings: readonly string[];
  /** Set once setup finished. */
  running?: GatekeeperRunning;
};

/** gatekeeper: Greenwave-compatible decisions on results and waivers, published on change (docs/gating.md). */
export function createGatekeeperService(options: GatekeeperOptions = {}): GatekeeperServiceDefinition {
  const definition: GatekeeperServiceDefinition = {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: gatekeeperConfigSchema,
    async setup(ctx) {
      const settings = ctx.config.gatekeeper;
      const tools = { env: options.env ?? DEFAULT_TOOL_ENV };
      const now = options.now ?? (() => new Date());
      // Policies are read again every refreshSeconds: a commit to policies/ needs no restart.
      const policyResolver =
        settings.policies.repo && !settings.policies.dir
          ? repositoryResolver(settings.policies.repo, { cacheDir: resolve(settings.policies.mirrorDir), maxAgeMs: settings.policies.refreshSeconds * 1000, tools })
          : undefined;
      let applyPolicies: (policies: readonly Policy[]) => void = () => undefined;
      const policyWatch = new PolicyWatch({ source: settings.policies, resolver: policyResolver, tools, logger: ctx.logger, apply: (p) => applyPolicies(p), intervalMs: settings.policies.refreshSeconds * 1000 });
      const policies = await policyWatch.load();
      if (policies.length === 0) ctx.logger.warn("no policies (gatekeeper.policies.dir / .repo): nothing will be gated");
      const stores = options.stores ?? (await createStores(ctx.config, ctx.logger));
      const culprits = settings.culprits.enabled ? new CulpritFinder({ bus: ctx.bus, logger: ctx.logger, now, store: stores.culprits }) : undefined;
      // The dist-git port asks the results for a build's commit.
      const distGit = new DistGit({
        baseDir: settings.distGit.baseDir === undefined ? undefined : resolve(settings.distGit.baseDir),
        repos: settings.distGit.url
          ? new MirroredDistGit({ urlTemplate: settings.distGit.url, cacheDir: resolve(settings.distGit.mirrorDir), maxAgeMs: settings.distGit.refreshSeconds * 1000, tools })
          : undefined,
        branch: settings.distGit.branch,
        tools,
        commitHint: (nvr) => new ResultView(stores.results).commitOf(nvr),
      });
      // In memory: after a restart only change sets queued since are aged (the gauge under-reports, never over).
      const ungated = new UngatedChanges();
      const gatekeeper = new Gatekeeper({
        bus: ctx.bus,
        settings: { productVersion: settings.productVersion, contexts: settings.contexts, batchWindowMs: settings.batch.windowMs },
        policies,
        remoteGatingYaml: (s) => distGit.gatingYaml(s),
        logger: ctx.logger,
        now,
        stores,
        onComposeDecision: async (compose: string, decision: Decision) => {
          ungated.onDecision(compose, decision);
          await culprits?.onComposeDecision(compose, decision);
        },
      });
      const gauge = ctx.metrics.oldestUngatedAge;
      const refresh = () => gauge.set({ context: settings.contexts.compose }, ungated.oldestAgeSeconds(now()));
      const timer = setInterval(refresh, UNGATED_GAUGE_INTERVAL_MS);
      timer.unref();
      ctx.onShutdown("ungated-gauge", () => clearInterval(timer));
      // Shutdown steps run in the order registered: the last pass ends before the store closes.
      applyPolicies = (p) => gatekeeper.setPolicies(p);
      policyWatch.start();
      ctx.onShutdown("policy-watch", () => policyWatch.stop());
      ctx.onShutdown("decision-passes", () => gatekeeper.stop());
      ctx.onShutdown("gatekeeper-store", () => stores.close());
      await gatekeeper.start();
      await culprits?.resume();
      const server = createApiServer(gatekeeper);
      const apiPort = await listen(server, settings.api.host, settings.api.port);
      ctx.onShutdown("api", () => closeServer(server));
      ctx.logger.info({ api_port: apiPort, policies: policies.map((p) => p.id) }, "gatekeeper API listening");
      const store = async (input: StoredInput, log: HandlerContext["log"]) => {
        const line = storedLogLine(input, await gatekeeper.receive(input));
        log.info(line.fields, line.msg);
      };
      await ctx.consume(async (message: BusMessage, context: HandlerContext) => {
        // Stored and marked before the ack; decided in the next pass, together with what arrives meanwhile.
        if (topicHasSuffix(RESULTSDB_RESULT_NEW_TOPIC, message.topic)) await store({ result: ResultsdbResult.parse(message.body) }, context.log);
        else if (topicHasSuffix(WAIVERDB_WAIVER_NEW_TOPIC, message.topic)) await store({ waiver: WaiverdbWaiver.parse(message.body) }, context.log);
        else if (topicHasSuffix(CHANGE_SET_QUEUED_TOPIC, message.topic)) {
          const body = ChangeSetQueued.parse(message.body);
          ungated.onQueued(body.change_set_id, new Date(body.generated_at));
          await culprits?.onChangeSet(body);
        } else if (topicHasSuffix(composeTopic("complete"), message.topic)) {
          const body = ComposeComplete.parse(message.body);
          ungated.onComposed(body.change_set_id, body.commit);
          await culprits?.onComposeComplete(body);
        } else if (topicHasSuffix(composeTopic("error"), message.topic)) {
          const body = ComposeError.parse(message.body);
          ungated.onComposeFailed(body.change_set_id);
          await culprits?.onComposeError(body);
        }
        refresh();
      });
      definition.running = { gatekeeper, apiPort, ...(culprits ? { culprits } : {}) };
    },
  };
  return definition;
}

/** Redis when `redis.url` is set (results, waivers, decisions and culprit searches survive a restart), else in memory. */
async function createStores(config: GatekeeperConfig, logger: Pick<Logger, "warn">): Promise<GatekeeperStores> {
  if (!config.redis.url) return memoryStores();
  let warned = false;
  const stores = new RedisStores({
    url: config.redis.url,
    prefix: config.gatekeeper.store.prefix,
    onError: (err) => {
      if (warned) return;
      warned = true;
      logger.warn({ err: err.message }, "Redis connection error (gatekeeper store); ioredis keeps reconnecting");
    },
  });
  try {
    await stores.connect();
  } catch (err) {
    await stores.close();
    // As for the idempotency store: an unreachable Redis fails the start with exit code 14.
    throw new BusError("CONNECTION", `gatekeeper store: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return stores;
}
