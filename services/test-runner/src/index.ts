import { resolve } from "node:path";
import { BusError, type BusMessage, type HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import { MemoryPlanStore, MemoryResultsStore, RedisPlanStore, RedisResultsStore, ResultsServer, type PlanStore, type ResultsStore } from "@atomic-ci/testing";
import { distGitRepos, repositoryResolver, type ToolEnv } from "@atomic-ci/tools";
import { testRunnerConfigSchema, type TestRunnerConfig } from "./config.js";
import { ImageTester } from "./images.js";
import { DistGitLookups } from "./lookups.js";
import { TestRunner } from "./runner.js";

export { testRunnerConfigSchema, type TestRunnerConfig, type TestRunnerSection } from "./config.js";
export { TestRunner, type TestRunnerDeps } from "./runner.js";
export { completeBody, errorBody, outcomeOf, queuedBody, resultOf, slug, testcaseOf, testTypes, CI_CATEGORY, CI_SPEC_VERSION, type CiContext, type PlannedTest, type RunLinks } from "./messages.js";
export { guestScript, ImageTester, imageScenario, imageSummaryTestcase, isImageTest, IMAGE_TAG, type ImageTesterDeps } from "./images.js";
export { buildCommit, changedBuilds, releaseMatches, splitNevra, type ChangedBuild } from "./resolve.js";

export const SERVICE_NAME = "test-runner";

/** Composes to test, the change sets they came from (members, definition commit), and their images to boot. */
export const DEFAULT_BINDINGS: readonly string[] = ["#.pipeline.change-set.queued", "#.pipeline.compose.complete", "#.pipeline.image.complete", "#.pipeline.operator.request"];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** Where the tools are when the caller hands in no environment (services never read process.env themselves). */
const DEFAULT_TOOL_ENV: ToolEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

export interface TestRunnerOptions {
  /** Environment for git, ostree and bwrap (PATH above all); the process entry point passes its own. */
  env?: ToolEnv;
  /** Default: the system clock. */
  now?: () => Date;
  /** Default: Redis when `redis.url` is set (results survive restarts), else in memory (results die with the process). */
  store?: ResultsStore;
  /** What was planned per compose, for re-runs; default beside the results (Redis or memory). */
  plans?: PlanStore;
}

export type TestRunnerService = ServiceDefinition<TestRunnerConfig> & {
  bindings: readonly string[];
  /** The results store the service writes (and its API serves). */
  readonly store: ResultsStore;
  /** The results API's port once set up (the real one when configured with 0). */
  apiPort(): number;
};

/** test-runner: tests every compose on its commit and serves the results ResultsDB-style (docs/tests.md). */
export function createTestRunnerService(options: TestRunnerOptions = {}): TestRunnerService {
  const now = options.now ?? (() => new Date());
  let store: ResultsStore = options.store ?? new MemoryResultsStore(now);
  let server: ResultsServer | undefined;
  return {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: testRunnerConfigSchema,
    get store() {
      return store;
    },
    apiPort() {
      if (!server) throw new Error("the test-runner is not set up");
      return server.port;
    },
    async setup(ctx) {
      const settings = ctx.config.testRunner;
      let plans = options.plans ?? new MemoryPlanStore();
      let closeStore: (() => Promise<void>) | undefined;
      if (!options.store && ctx.config.redis.url) {
        const redis = await connectResults(ctx.config.redis.url, settings.results.redisPrefix, now, (err) => ctx.logger.warn({ err: err.message }, "Redis connection error (results store); ioredis keeps reconnecting"));
        closeStore = () => redis.close();
        store = redis;
        plans = options.plans ?? new RedisPlanStore({ client: redis.client, key: `${settings.results.redisPrefix}:plans` });
      }
      const api = new ResultsServer(store, { ...settings.api, onError: (err, url) => ctx.logger.error({ err, url }, "results API request failed") });
      await api.start();
      server = api;
      ctx.onShutdown("results-api", () => api.close());
      ctx.logger.info({ port: api.port }, "results API listening");
      const toolEnv = options.env ?? DEFAULT_TOOL_ENV;
      // One mirror for the tree's runner and the image tester: a remote definition is fetched once per refresh.
      const definitionRepo = settings.definition.repo
        ? repositoryResolver(settings.definition.repo, { cacheDir: resolve(settings.definition.mirrorDir), maxAgeMs: settings.definition.refreshSeconds * 1000, tools: { env: toolEnv } })
        : undefined;
      // One set of dist-git mirrors for both too.
      const distGit = distGitRepos(settings.distGit, { env: toolEnv });
      const lookups = new DistGitLookups({ env: toolEnv }, settings.distGit.branch);
      const shared = { lookups, ...(definitionRepo ? { definitionRepo } : {}), ...(distGit ? { distGit } : {}) };
      const runner = new TestRunner({ bus: ctx.bus, settings, store, plans, log: ctx.logger, tools: { env: toolEnv }, now, ...shared });
      api.reruns = runner;
      // Closed in this order after the consumers stopped: the API (registered above), re-runs it accepted, then the store they write.
      ctx.onShutdown("reruns", () => runner.idle());
      if (closeStore) ctx.onShutdown("results-store", closeStore);
      const images = new ImageTester({ bus: ctx.bus, settings, store, documents: plans, tools: { env: toolEnv }, now, ...shared });
      await ctx.consume(async (message: BusMessage, context: HandlerContext) => {
        if (message.topic.endsWith("pipeline.image.complete")) return images.handle(message, context);
        await images.observe(message);
        return runner.handle(message, context);
      });
    },
  };
}

/** The Redis results store, connected; an unreachable Redis fails the start (exit code 14) as for the other Redis stores. */
async function connectResults(url: string, prefix: string, now: () => Date, onError: (err: Error) => void): Promise<RedisResultsStore> {
  let warned = false;
  const redis = new RedisResultsStore({
    url,
    prefix,
    now,
    onError: (err) => {
      if (warned) return;
      warned = true;
      onError(err);
    },
  });
  try {
    await redis.connect();
  } catch (err) {
    await redis.close();
    throw new BusError("CONNECTION", `results store: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return redis;
}
