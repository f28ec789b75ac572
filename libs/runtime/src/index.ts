// The public surface of @atomic-ci/runtime: services and the CLI import only from here.

export { loadConfig, type LoadConfigOptions } from "./config/load.js";
export { ConfigError, isSecretPath, redactConfig, type ConfigIssue } from "./config/errors.js";
export { CONFIG_PATH_ENV, ENV_ALIASES, ENV_PREFIX, envNameOf, NON_CONFIG_ENV } from "./config/env.js";
export {
  commonConfigSchema,
  DEFAULT_TOPIC_PREFIX,
  LOG_LEVELS,
  queueOf,
  TRANSPORT_KINDS,
  type CommonConfig,
  type TransportKind,
} from "./config/common.js";
export { mirroredDistGitKeys } from "./config/dist-git.js";
export { describeConfig, renderConfigTable, replaceConfigTable, type ConfigKeyDoc } from "./config/docs.js";
export { HealthServer, readyCounters, READY_COUNTERS, type HealthServerOptions, type ReadyCounters, type ReadyState } from "./health.js";
export { ExitCode, exitCodeFor, ServiceStartError } from "./exit-codes.js";
export { defineService, defaultConfigOf, logAndAck, type ServiceContext, type ServiceDefinition, type ServiceHandler } from "./definition.js";
export { runService, type RunOptions, type ServiceHandle, type ShutdownResult, type SignalSource } from "./service.js";
export { runMain, runServices, type GroupHandle, type GroupOptions } from "./group.js";
export { ServiceBus } from "./service-bus.js";
