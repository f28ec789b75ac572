/**
 * One error type for every external tool, with a string `code` so callers can switch on it.
 * The split that matters to a pipeline: a tool that ran and said "no" (TOOL_FAILED with an
 * exit code — e.g. dnf could not depsolve) is a verdict about the input; everything else (the
 * binary is missing, it hung, it was killed, it flooded its output) is an infrastructure error.
 */
export type ToolErrorCode =
  | "TOOL_FAILED" // exited non-zero, or died by a signal we did not send
  | "TOOL_MISSING" // the binary could not be executed (ENOENT, EACCES)
  | "TOOL_TIMEOUT" // we killed it after timeoutMs
  | "TOOL_OUTPUT_LIMIT"; // we killed it because stdout or stderr passed maxOutputBytes

export interface ToolErrorDetails {
  tool: string;
  args: readonly string[];
  /** Exit status; null when it never started or ended by a signal. */
  exitCode: number | null;
  signal?: NodeJS.Signals | null;
  /** The last part of stderr (see STDERR_TAIL_BYTES), for the error message and logs. */
  stderr: string;
  /** Everything stdout said, up to the output limit (a failing tool often explains itself there). */
  stdout?: string;
  cause?: unknown;
}

/** How much of stderr an error keeps: enough for dnf's "Problem:" block, small enough to log. */
export const STDERR_TAIL_BYTES = 8192;

export class ToolError extends Error {
  readonly code: ToolErrorCode;
  readonly tool: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(code: ToolErrorCode, message: string, details: ToolErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ToolError";
    this.code = code;
    this.tool = details.tool;
    this.args = details.args;
    this.exitCode = details.exitCode;
    this.signal = details.signal ?? null;
    this.stderr = details.stderr;
    this.stdout = details.stdout ?? "";
  }

  /** True unless the tool ran to completion and reported failure with an exit code. */
  get infrastructure(): boolean {
    return this.code !== "TOOL_FAILED" || this.exitCode === null;
  }
}

export function isToolError(err: unknown, code?: ToolErrorCode): err is ToolError {
  return err instanceof ToolError && (code === undefined || err.code === code);
}

/** Keep the end of a text, cut at a character boundary, marking the cut. */
export function tail(text: string, maxBytes: number = STDERR_TAIL_BYTES): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const buf = Buffer.from(text);
  return `…${buf.subarray(buf.length - maxBytes).toString("utf8").replace(/^\uFFFD+/, "")}`;
}
