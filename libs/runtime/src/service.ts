import type { IdempotencyStore, MemoryBroker, Transport } from "@atomic-ci/bus";
import { defaultRegistry, type SchemaRegistry } from "@atomic-ci/messages";
import { collectProcessMetrics, createLogger, createMetrics, Registry, type Logger, type Metrics } from "@atomic-ci/telemetry";
import type { z } from "zod";
import { createIdempotencyStore, createTransport } from "./adapters.js";
import { commonConfigSchema, queueOf, type CommonConfig } from "./config/common.js";
import { redactConfig } from "./config/errors.js";
import { loadConfig, type LoadConfigOptions } from "./config/load.js";
import { defaultConfigOf, type ServiceContext, type ServiceDefinition } from "./definition.js";
import { ExitCode, exitCodeFor, ServiceStartError } from "./exit-codes.js";
import { HealthServer, type ReadyState } from "./health.js";
import { ServiceBus } from "./service-bus.js";
import { runShutdownSteps, type ShutdownStep } from "./shutdown.js";

export interface RunOptions {
  /** Where config comes from (env, file, overrides); see `loadConfig`. */
  config?: LoadConfigOptions;
  /** Broker shared by the memory transports of one process (the all-in-one runner). */
  broker?: MemoryBroker;
  /** Message schemas; default every family. */
  registry?: SchemaRegistry;
  /** Use these instead of what config selects (tests). The service closes them on shutdown. */
  transport?: Transport;
  idempotency?: IdempotencyStore;
  /** Log here instead of stdout. */
  logDestination?: NodeJS.WritableStream;
  /** Add Node.js process metrics to /metrics. Default true. */
  processMetrics?: boolean;
  /** Shut down on SIGTERM/SIGINT and set `process.exitCode`. Off by default: in one process with several services, `runServices` owns the signals. */
  handleSignals?: boolean;
  /** Where signals come from; default `process` (tests pass an EventEmitter). */
  signalSource?: SignalSource;
}

export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownResult {
  reason: string;
  exitCode: number;
  timedOut: boolean;
  /** Shutdown steps in the order they finished: consumers, <own resources>, transport, idempotency, http. */
  steps: string[];
}

export interface ServiceHandle<C extends CommonConfig = CommonConfig> {
  readonly name: string;
  readonly bus: ServiceBus;
  readonly config: C;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Port of the /live, /ready, /metrics server. */
  readonly httpPort: number;
  /** Settles once the service stopped, whatever stopped it (shutdown, signal, halt). */
  readonly stopped: Promise<ShutdownResult>;
  state(): ReadyState;
  /** Stop consuming → drain → own resources → transport → idempotency store → HTTP server. */
  shutdown(reason: string, exitCode?: number): Promise<ShutdownResult>;
}

/** Close whatever a failed start had already opened, then report the failure. */
async function failStart(name: string, code: ExitCode, err: unknown, cleanup: (() => Promise<void>)[], logger?: Logger): Promise<never> {
  for (const close of cleanup.reverse()) await close().catch(() => undefined);
  const message = err instanceof Error ? err.message : String(err);
  logger?.fatal({ err, exit_code: code }, "service failed to start");
  throw new ServiceStartError(name, code, message, { cause: err });
}

/**
 * Start one service from its configuration: logger, metrics, idempotency store (Redis when
 * `redis.url` is set), transport, bus, health server, then the service's `setup`.
 * Rejects with ServiceStartError (with the exit code) when any of it fails.
 */
export async function runService<C extends CommonConfig = CommonConfig>(definition: ServiceDefinition<C> & RunOptions): Promise<ServiceHandle<C>> {
  const { name } = definition;
  const schema = (definition.configSchema ?? commonConfigSchema) as z.ZodType<C>;
  const loadOptions = definition.config ?? {};
  let config: C;
  try {
    config = loadConfig(schema, { ...loadOptions, defaults: { ...defaultConfigOf(definition), ...loadOptions.defaults } });
  } catch (err) {
    return failStart(name, exitCodeFor(err), err, []);
  }

  const logger = createLogger({ level: config.logLevel, service: config.service }, definition.logDestination);
  const metrics = createMetrics(new Registry());
  if (definition.processMetrics ?? true) collectProcessMetrics(metrics.registry);
  logger.info({ config: redactConfig(config) }, "starting");

  const cleanup: (() => Promise<void>)[] = [];
  const idempotency = definition.idempotency ?? createIdempotencyStore(config, logger);
  cleanup.push(() => idempotency.close());
  try {
    // Stores with a connection (Redis) are checked now, so a bad URL fails the start with 14.
    await (idempotency as IdempotencyStore & { connect?: () => Promise<void> }).connect?.();
  } catch (err) {
    return failStart(name, ExitCode.CONNECTION_ERROR, err, cleanup, logger);
  }

  let transport: Transport;
  try {
    transport = definition.transport ?? createTransport(config, { logger, metrics, ...(definition.broker ? { broker: definition.broker } : {}) });
  } catch (err) {
    return failStart(name, exitCodeFor(err), err, cleanup, logger);
  }
  cleanup.push(() => transport.close());

  let stopping = false;
  let setupDone = false;
  let shutdown: (reason: string, exitCode?: number) => Promise<ShutdownResult> = () => Promise.reject(new Error("not started"));
  const bus = new ServiceBus(
    { transport, idempotency, metrics, logger, registry: definition.registry ?? defaultRegistry },
    // On the in-memory broker each service signs as its own account, as RabbitMQ's per-service
    // users would (deploy/rabbitmq): consumers that trust one sender behave the same there.
    { exchange: config.bus.exchange, topicPrefix: config.bus.topicPrefix, ...(transport.kind === "memory" ? { userId: `atomic-ci-${name}` } : {}) },
    (outcome, _message, consumer) => {
      logger.error({ consumer, reason: outcome.reason, exit_code: outcome.exitCode ?? 0 }, "consumer halted; shutting down");
      void shutdown(`consumer ${consumer} halted: ${outcome.reason}`, outcome.exitCode ?? ExitCode.OK);
    },
  );
  try {
    await bus.connect();
  } catch (err) {
    return failStart(name, exitCodeFor(err, ExitCode.CONNECTION_ERROR), err, cleanup, logger);
  }

  // Ready = set up, not stopping, connected, and consuming if there is anything to consume.
  const state = (): ReadyState => {
    const consuming = bus.isConsuming();
    const nothingToConsume = bus.consumersStarted === 0 && transport.isConnected();
    return { ready: setupDone && !stopping && (consuming || nothingToConsume), consuming };
  };
  const http = new HealthServer({ host: config.http.host, port: config.http.port, metrics, state, logger });
  let httpPort: number;
  try {
    httpPort = await http.start();
  } catch (err) {
    return failStart(name, ExitCode.UNEXPECTED_ERROR, err, cleanup, logger);
  }
  cleanup.push(() => http.close());

  const ownClosers: { name: string; close: () => Promise<void> | void }[] = [];
  const ctx: ServiceContext<C> = {
    bus,
    config,
    logger,
    metrics,
    onShutdown: (stepName, close) => void ownClosers.push({ name: stepName, close }),
    consume: async (handler, overrides = {}) => {
      const bindings = overrides.bindings ?? config.bus.bindings;
      if (bindings.length === 0) {
        logger.info("no bindings configured: nothing to consume");
        return undefined;
      }
      return bus.consume({
        queue: queueOf(config),
        exchange: config.bus.exchange,
        prefetch: config.bus.prefetch,
        maxDeliveries: config.bus.maxDeliveries,
        maxBodyBytes: config.bus.maxBodyBytes,
        ...overrides,
        bindings,
        handler,
      });
    },
  };
  const shutdownSteps = (): ShutdownStep[] => [
    { name: "consumers", run: () => bus.stopConsuming() },
    ...ownClosers.map((own) => ({ name: own.name, run: own.close })),
    { name: "transport", run: () => bus.close() },
    { name: "idempotency", run: () => idempotency.close() },
    { name: "http", run: () => http.close() },
  ];
  try {
    await definition.setup(ctx);
  } catch (err) {
    // Setup may have started consumers and opened resources: close them in shutdown order.
    stopping = true;
    await runShutdownSteps(shutdownSteps(), config.shutdownTimeoutMs, logger);
    return failStart(name, exitCodeFor(err), err, [], logger);
  }
  setupDone = true;

  let resolveStopped: (result: ShutdownResult) => void = () => undefined;
  const stopped = new Promise<ShutdownResult>((resolve) => (resolveStopped = resolve));
  let running: Promise<ShutdownResult> | undefined;
  shutdown = (reason, exitCode = ExitCode.OK) => {
    running ??= (async () => {
      stopping = true;
      logger.info({ reason }, "shutting down");
      const report = await runShutdownSteps(shutdownSteps(), config.shutdownTimeoutMs, logger);
      if (report.timedOut) http.forceClose();
      const code = exitCode !== ExitCode.OK ? exitCode : report.timedOut || report.failed.length > 0 ? ExitCode.SHUTDOWN_FAILED : ExitCode.OK;
      const result: ShutdownResult = { reason, exitCode: code, timedOut: report.timedOut, steps: report.completed };
      logger.info({ exit_code: code, steps: report.completed, failed: report.failed }, "stopped");
      resolveStopped(result);
      return result;
    })();
    return running;
  };

  if (definition.handleSignals) installSignalHandlers((signal) => shutdown(`signal ${signal}`), stopped, definition.signalSource);
  logger.info({ http_port: httpPort, transport: transport.kind, queue: queueOf(config), bindings: config.bus.bindings }, "started");
  return { name, bus, config, logger, metrics, httpPort, stopped, state, shutdown: (reason, exitCode) => shutdown(reason, exitCode) };
}

/**
 * SIGTERM/SIGINT start a graceful shutdown and set `process.exitCode`; a second signal
 * while it runs exits at once (an operator who presses Ctrl-C twice means it).
 */
export function installSignalHandlers(
  onSignal: (signal: NodeJS.Signals) => Promise<{ exitCode: number }>,
  stopped: Promise<unknown>,
  source: SignalSource = process,
): void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) process.exit(ExitCode.SHUTDOWN_FAILED);
    received = true;
    void onSignal(signal).then((result) => {
      process.exitCode = result.exitCode;
    });
  };
  source.on("SIGTERM", handler);
  source.on("SIGINT", handler);
  void stopped.finally(() => {
    source.off("SIGTERM", handler);
    source.off("SIGINT", handler);
  });
}
