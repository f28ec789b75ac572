export { createLogger, silentLogger, redactUrl, REDACT_PATHS } from "./logger.js";
export type { Logger, LoggerConfig } from "./logger.js";
export { createMetrics, collectProcessMetrics, Registry } from "./metrics.js";
export type { Metrics } from "./metrics.js";
