/** Exit codes of the CLI: 0 success, 1 the thing checked is bad (or the operation failed), 2 usage. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A mistake in how the CLI was called (exit 2). */
export class UsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
