import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * Paths pino redacts wherever they appear in a log record. Secrets reach logs mostly through
 * config objects and URLs, so every key that can hold one is listed here once.
 */
export const REDACT_PATHS: readonly string[] = [
  "password",
  "*.password",
  "*.*.password",
  "secret",
  "*.secret",
  "*.*.secret",
  "token",
  "*.token",
  "*.*.token",
  "key",
  "*.key",
  "*.*.key",
  "passphrase",
  "*.passphrase",
  "*.*.passphrase",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "config.bus.amqp.url",
  "config.bus.nats.url",
  "config.redis.url",
];

export interface LoggerConfig {
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  level: string;
  /** Service name, put on every line as `service`. */
  service: string;
}

/** Remove the password of a URL (amqp://user:pass@host → amqp://user:***@host) for logging. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable url>";
  }
}

export function createLogger(
  config: LoggerConfig,
  destination?: NodeJS.WritableStream,
): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: config.service },
    redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nothing, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
