import { MemoryBroker } from "@atomic-ci/bus";
import { ConfigError } from "./config/errors.js";
import type { ServiceDefinition } from "./definition.js";
import { ExitCode, ServiceStartError } from "./exit-codes.js";
import { installSignalHandlers, runService, type RunOptions, type ServiceHandle, type ShutdownResult } from "./service.js";

export interface GroupOptions extends Omit<RunOptions, "handleSignals" | "transport" | "idempotency"> {
  /** Shut the whole group down on SIGTERM/SIGINT. */
  handleSignals?: boolean;
  /** Per-service run options (config overrides, e.g. `http.port`), by service name. */
  perService?: Record<string, RunOptions>;
}

export interface GroupHandle {
  readonly services: readonly ServiceHandle[];
  /** The broker the memory transports share. */
  readonly broker: MemoryBroker;
  /** Settles once every service stopped; its exit code is the first non-zero one. */
  readonly stopped: Promise<ShutdownResult>;
  shutdown(reason: string, exitCode?: number): Promise<ShutdownResult>;
}

/**
 * Several services in one process (the all-in-one runner): one MemoryBroker, one set of
 * signal handlers. Shutdown goes through the services in the order given (upstream first,
 * so what they publish while draining still reaches the services after them). When one
 * service stops by itself (a halt), the others follow with its exit code.
 */
export async function runServices(definitions: readonly ServiceDefinition[], options: GroupOptions = {}): Promise<GroupHandle> {
  const broker = options.broker ?? new MemoryBroker();
  const { perService = {}, handleSignals = false, signalSource: _signals, ...shared } = options;
  const services: ServiceHandle[] = [];
  for (const definition of definitions) {
    try {
      services.push(await runService({ ...shared, ...perService[definition.name], ...definition, broker, handleSignals: false }));
    } catch (err) {
      for (const started of [...services].reverse()) await started.shutdown("another service failed to start");
      throw err;
    }
  }

  let running: Promise<ShutdownResult> | undefined;
  const shutdown = (reason: string, exitCode: number = ExitCode.OK): Promise<ShutdownResult> => {
    running ??= (async () => {
      const results: ShutdownResult[] = [];
      for (const service of services) results.push(await service.shutdown(reason, exitCode));
      const failed = results.find((r) => r.exitCode !== ExitCode.OK);
      return {
        reason,
        exitCode: failed?.exitCode ?? ExitCode.OK,
        timedOut: results.some((r) => r.timedOut),
        steps: results.flatMap((r, i) => r.steps.map((step) => `${services[i]?.name ?? "?"}:${step}`)),
      };
    })();
    return running;
  };
  for (const service of services) {
    void service.stopped.then((result) => shutdown(`${service.name} stopped: ${result.reason}`, result.exitCode));
  }
  const stopped = new Promise<ShutdownResult>((resolve) => {
    void Promise.all(services.map((s) => s.stopped)).then(() => resolve(shutdown("stopped")));
  });
  if (handleSignals) installSignalHandlers((signal) => shutdown(`signal ${signal}`), stopped, options.signalSource);
  return { services, broker, stopped, shutdown };
}

/**
 * The whole `main` of a service process: run it with signal handling, exit with the
 * service's exit code when it stops, and with the start-up failure's code when it cannot
 * start. Config errors go to stderr as they are, since no logger exists yet to carry them.
 */
export async function runMain(definition: ServiceDefinition, options: RunOptions = {}): Promise<void> {
  try {
    const handle = await runService({ ...options, ...definition, handleSignals: true });
    const result = await handle.stopped;
    process.exit(result.exitCode);
  } catch (err) {
    if (err instanceof ServiceStartError && err.cause instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else if (!(err instanceof ServiceStartError)) process.stderr.write(`${definition.name}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(err instanceof ServiceStartError ? err.exitCode : ExitCode.UNEXPECTED_ERROR);
  }
}
