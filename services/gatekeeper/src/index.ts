import { resolve } from "node:path";
import type { BusMessage } from "@atomic-ci/bus";
import type { Decision } from "@atomic-ci/gating";
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
import type { ToolEnv } from "@atomic-ci/tools";
import { closeServer, listen } from "@atomic-ci/http";
import { createApiServer } from "./api.js";
import { gatekeeperConfigSchema, type GatekeeperConfig } from "./config.js";
import { DistGit } from "./distgit.js";
import { CulpritFinder } from "./culprits/finder.js";
import { Gatekeeper } from "./gatekeeper.js";
import { loadPolicies } from "./policies.js";

export { gatekeeperConfigSchema, type GatekeeperConfig, type GatekeeperSection } from "./config.js";
export { Gatekeeper, type GatekeeperDeps, type WaiverInput } from "./gatekeeper.js";
export { WAIVERS_PATH, WaiverRequest } from "./api.js";
export { DistGit, specBuilds, splitNvr } from "./distgit.js";
export { loadPolicies, parsePolicyFiles } from "./policies.js";
export { commitOfResult, ResultIndex, WaiverStore } from "./store.js";
export { findCulprits, type Culprit, type CulpritReport, type Oracle, type Unit, type Verdict } from "./culprits/core.js";
export { CulpritFinder, verdictOf, type CulpritFinderDeps } from "./culprits/finder.js";

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
      const policies = await loadPolicies(settings.policies, tools);
      if (policies.length === 0) ctx.logger.warn("no policies (gatekeeper.policies.dir / .repo): nothing will be gated");
      // The dist-git port asks the result index for a build's commit; the index lives in the gatekeeper.
      const culprits = settings.culprits.enabled ? new CulpritFinder({ bus: ctx.bus, logger: ctx.logger, now }) : undefined;
      const gatekeeper: Gatekeeper = new Gatekeeper({
        bus: ctx.bus,
        settings,
        policies,
        remoteGatingYaml: (s) => distGit.gatingYaml(s),
        logger: ctx.logger,
        now,
        ...(culprits ? { onComposeDecision: (compose: string, decision: Decision) => culprits.onComposeDecision(compose, decision) } : {}),
      });
      const distGit = new DistGit({
        baseDir: settings.distGit.baseDir === undefined ? undefined : resolve(settings.distGit.baseDir),
        branch: settings.distGit.branch,
        tools,
        commitHint: (nvr) => gatekeeper.results.commitOf(nvr),
      });
      const server = createApiServer(gatekeeper);
      const apiPort = await listen(server, settings.api.host, settings.api.port);
      ctx.onShutdown("api", () => closeServer(server));
      ctx.logger.info({ api_port: apiPort, policies: policies.map((p) => p.id) }, "gatekeeper API listening");
      await ctx.consume(async (message: BusMessage) => {
        if (topicHasSuffix(RESULTSDB_RESULT_NEW_TOPIC, message.topic)) await gatekeeper.onResult(ResultsdbResult.parse(message.body));
        else if (topicHasSuffix(WAIVERDB_WAIVER_NEW_TOPIC, message.topic)) await gatekeeper.onWaiver(WaiverdbWaiver.parse(message.body));
        else if (topicHasSuffix(CHANGE_SET_QUEUED_TOPIC, message.topic)) culprits?.onChangeSet(ChangeSetQueued.parse(message.body));
        else if (topicHasSuffix(composeTopic("complete"), message.topic)) culprits?.onComposeComplete(ComposeComplete.parse(message.body));
        else if (topicHasSuffix(composeTopic("error"), message.topic)) culprits?.onComposeError(ComposeError.parse(message.body));
      });
      definition.running = { gatekeeper, apiPort, ...(culprits ? { culprits } : {}) };
    },
  };
  return definition;
}
