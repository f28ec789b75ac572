import { BusError, type BusMessage } from "@atomic-ci/bus";
import { defaultConfigOf, type ServiceDefinition } from "@atomic-ci/runtime";
import type { Logger } from "@atomic-ci/telemetry";
import { dashboardConfigSchema, type DashboardConfig } from "./config.js";
import { DASHBOARD_TOPICS, emptyState, reduce, type DashboardState, type Limits } from "./projection.js";
import { DashboardServer } from "./server.js";
import { RedisSnapshotStore, type SnapshotStore } from "./snapshot.js";

export { dashboardConfigSchema, type DashboardConfig, type DashboardSection } from "./config.js";
export {
  DASHBOARD_TOPICS,
  decisionKey,
  DEFAULT_LIMITS,
  emptyState,
  reduce,
  testKey,
  type ChangeSetRow,
  type ComposeRow,
  type DashboardState,
  type DecisionRow,
  type DeliveredRow,
  type HeldRow,
  type Limits,
  type ProjectionInput,
  type StreamRow,
  type TestRow,
  type TestState,
  type WaiverRow,
} from "./projection.js";
export { pageView, requirementWords, shortCommit, type ChangeSetView, type ComposeView, type GateView, type PageView, type Stage, type Tone, type WordsContext } from "./view.js";
export { CONTENT_SECURITY_POLICY, escapeHtml, link, renderContent, renderPage } from "./render.js";
export { DashboardServer, type DashboardServerOptions } from "./server.js";
export { RedisSnapshotStore, SNAPSHOT_FORMAT, stateFromSnapshot, type SnapshotStore } from "./snapshot.js";

export const SERVICE_NAME = "dashboard";

/** Everything the page shows, under whatever prefix it is published with. */
export const DEFAULT_BINDINGS: readonly string[] = DASHBOARD_TOPICS.map((topic) => `#.${topic}`);

export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

export interface DashboardOptions {
  /** Default: Redis at `redis.url` when set and `dashboard.snapshot.enabled`, else none. */
  snapshot?: SnapshotStore;
  /** Default: the system clock (times of messages that carry none). */
  now?: () => Date;
}

/** What a running dashboard exposes (tests and the demo read its port). */
export interface DashboardRunning {
  readonly port: number;
  state(): DashboardState;
  readonly server: DashboardServer;
}

export type DashboardServiceDefinition = ServiceDefinition<DashboardConfig> & {
  bindings: readonly string[];
  /** Set once setup ran. */
  running?: DashboardRunning;
};

/**
 * dashboard: a read-only projection of the bus served as a web page (docs/dashboard.md). Its
 * own service, so it can be scaled, restarted or taken away without touching gating.
 */
export function createDashboardService(options: DashboardOptions = {}): DashboardServiceDefinition {
  const definition: DashboardServiceDefinition = {
    name: SERVICE_NAME,
    bindings: DEFAULT_BINDINGS,
    configSchema: dashboardConfigSchema,
    async setup(ctx) {
      const settings = ctx.config.dashboard;
      const limits: Limits = { maxChangeSets: settings.maxChangeSets, maxWaivers: settings.maxWaivers, maxReleasesPerStream: settings.maxReleasesPerStream };
      const snapshot = options.snapshot ?? (await createSnapshotStore(ctx.config, ctx.logger));
      let state: DashboardState = emptyState();
      if (snapshot) {
        try {
          state = (await snapshot.load()) ?? state;
          ctx.logger.info({ seq: state.seq, change_sets: state.order.length }, "projection restored from the snapshot");
        } catch (err) {
          ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "snapshot unreadable; starting empty");
        }
      }

      const server = new DashboardServer({
        host: settings.http.host,
        port: settings.http.port,
        title: settings.title,
        maxClients: settings.maxClients,
        heartbeatSeconds: settings.heartbeatSeconds,
        pushIntervalMs: settings.pushIntervalMs,
        state: () => state,
        logger: ctx.logger,
      });
      const port = await server.start();
      ctx.onShutdown("dashboard-http", () => server.close());

      let saved = state.seq;
      const save = async () => {
        if (!snapshot || saved === state.seq) return;
        const seq = state.seq;
        try {
          await snapshot.save(state);
          saved = seq;
        } catch (err) {
          ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "snapshot not saved; retrying later");
        }
      };
      if (snapshot) {
        const timer = setInterval(() => void save(), settings.snapshot.intervalMs);
        timer.unref();
        ctx.onShutdown("dashboard-snapshot", async () => {
          clearInterval(timer);
          await save();
          if (!options.snapshot) await snapshot.close();
        });
      }

      definition.running = { port, server, state: () => state };
      ctx.logger.info({ dashboard_port: port }, "dashboard listening");
      const now = options.now ?? (() => new Date());
      await ctx.consume((message: BusMessage) => {
        const next = reduce(state, { topic: message.topic, body: message.body, ...(message.sentAt ? { sentAt: message.sentAt } : {}) }, limits, now);
        if (next !== state) {
          state = next;
          server.changed();
        }
        return Promise.resolve();
      });
    },
  };
  return definition;
}

async function createSnapshotStore(config: DashboardConfig, logger: Logger): Promise<SnapshotStore | undefined> {
  if (!config.redis.url || !config.dashboard.snapshot.enabled) return undefined;
  let warned = false;
  const store = new RedisSnapshotStore(config.redis.url, config.dashboard.snapshot.key, (err) => {
    if (warned) return;
    warned = true;
    logger.warn({ err: err.message }, "Redis connection error (dashboard snapshot); ioredis keeps reconnecting");
  });
  try {
    await store.connect();
  } catch (err) {
    await store.close();
    throw new BusError("CONNECTION", `dashboard snapshot: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return store;
}
