import { isBusError } from "@atomic-ci/bus";
import { ConfigError } from "./config/errors.js";

/**
 * Process exit codes. 10–15 are fedora-messaging's (`fedora-messaging consume`), so
 * operators and restart policies read them the same way for every Fedora consumer.
 */
export const ExitCode = {
  OK: 0,
  /** A graceful shutdown did not finish within `shutdownTimeoutMs`, or one of its steps failed. */
  SHUTDOWN_FAILED: 1,
  /** A queue, binding or stream could not be declared. */
  BAD_DECLARATION: 10,
  /** Anything not covered below (setup threw, the HTTP port was taken, ...). */
  UNEXPECTED_ERROR: 11,
  /** The broker cancelled the consumer. */
  CONSUMER_CANCELLED: 12,
  /** A consumer stopped on an unexpected error. */
  CONSUMER_ERROR: 13,
  /** The broker or Redis could not be reached. */
  CONNECTION_ERROR: 14,
  /** The broker refused access (403). */
  PERMISSION_ERROR: 15,
  /** Invalid configuration (sysexits' EX_CONFIG). */
  CONFIG_ERROR: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

function mentionsAccessRefused(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (/ACCESS_REFUSED|\b403\b|permission|authorization violation/i.test(e.message)) return true;
    if ((e as { code?: unknown }).code === 403) return true;
  }
  return false;
}

/** The exit code a start-up or consumer failure stands for. */
export function exitCodeFor(err: unknown, fallback: ExitCode = ExitCode.UNEXPECTED_ERROR): ExitCode {
  if (err instanceof ConfigError || isBusError(err, "CONFIG")) return ExitCode.CONFIG_ERROR;
  if (isBusError(err, "PUBLISH_FORBIDDEN") || (isBusError(err) && mentionsAccessRefused(err))) return ExitCode.PERMISSION_ERROR;
  if (isBusError(err, "CONNECTION")) return ExitCode.CONNECTION_ERROR;
  if (isBusError(err, "DECLARATION")) return ExitCode.BAD_DECLARATION;
  return fallback;
}

/** Start-up failed; `exitCode` says how (and is what `runMain` exits with). */
export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${service}: ${message}`, options);
    this.name = "ServiceStartError";
  }
}
