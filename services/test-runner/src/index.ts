import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import { MemoryResultsStore, ResultsServer, type ResultsStore } from "@atomic-ci/testing";
import type { ToolEnv } from "@atomic-ci/tools";
import { testRunnerConfigSchema, type TestRunnerConfig } from "./config.js";
import { TestRunner } from "./runner.js";

export { testRunnerConfigSchema, type TestRunnerConfig, type TestRunnerSection } from "./config.js";
export { TestRunner, type TestRunnerDeps } from "./runner.js";
export { completeBody, errorBody, outcomeOf, queuedBody, resultOf, slug, testcaseOf, testTypes, CI_CATEGORY, CI_SPEC_VERSION, type CiContext, type PlannedTest, type RunLinks } from "./messages.js";
export { buildCommit, changedBuilds, releaseMatches, splitNevra, type ChangedBuild } from "./resolve.js";

export const SERVICE_NAME = "test-runner";

/** Composes to test, and the change sets they came from (members, definition commit). */
export const DEFAULT_BINDINGS: readonly string[] = ["#.pipeline.change-set.queued", "#.pipeline.compose.complete"];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** Where the tools are when the caller hands in no environment (services never read process.env themselves). */
const DEFAULT_TOOL_ENV: ToolEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

export interface TestRunnerOptions {
  /** Environment for git, ostree and bwrap (PATH above all); the process entry point passes its own. */
  env?: ToolEnv;
  /** Default: the system clock. */
  now?: () => Date;
  /** Default: in memory (results die with the process). */
  store?: ResultsStore;
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
  const store = options.store ?? new MemoryResultsStore(now);
  let server: ResultsServer | undefined;
  return {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: testRunnerConfigSchema,
    store,
    apiPort() {
      if (!server) throw new Error("the test-runner is not set up");
      return server.port;
    },
    async setup(ctx) {
      const settings = ctx.config.testRunner;
      const api = new ResultsServer(store, { ...settings.api, onError: (err, url) => ctx.logger.error({ err, url }, "results API request failed") });
      await api.start();
      server = api;
      ctx.onShutdown("results-api", () => api.close());
      ctx.logger.info({ port: api.port }, "results API listening");
      const runner = new TestRunner({ bus: ctx.bus, settings, store, tools: { env: options.env ?? DEFAULT_TOOL_ENV }, now });
      await ctx.consume((message: BusMessage, context: HandlerContext) => runner.handle(message, context));
    },
  };
}
