/**
 * Errors raised by the bus. One small family with a string `code` so callers can switch on
 * it without instanceof chains, and the underlying error kept as `cause`.
 */
export type BusErrorCode =
  | "CONNECTION" // could not connect, or the connection was lost and not restored in time
  | "CLOSED" // the bus or transport was closed
  | "PUBLISH_RETURNED" // broker returned the message as unroutable (mandatory)
  | "PUBLISH_NACKED" // broker nacked the publish
  | "PUBLISH_FORBIDDEN" // access refused (403)
  | "PUBLISH_TIMEOUT" // no confirm in time
  | "INVALID_MESSAGE" // a message failed its schema on publish
  | "DECLARATION" // queue/exchange/stream declaration failed
  | "CONFIG"; // bad transport options

export class BusError extends Error {
  readonly code: BusErrorCode;
  constructor(code: BusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BusError";
    this.code = code;
  }
}

/** A message failed schema validation before it was sent. */
export class InvalidMessageError extends BusError {
  readonly issues: readonly { path: string; message: string }[];
  constructor(message: string, issues: readonly { path: string; message: string }[]) {
    super("INVALID_MESSAGE", message);
    this.name = "InvalidMessageError";
    this.issues = issues;
  }
}

export function isBusError(err: unknown, code?: BusErrorCode): err is BusError {
  return err instanceof BusError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
