/** One thing wrong with a host-definition file. */
export interface DefinitionIssue {
  /** The file, relative to the definition root when known (`manifests/base.yaml`). */
  file: string;
  /** Dotted key path inside the file (`packages.3`, `add-files.0.1`); `(file)` for the file as a whole. */
  key: string;
  message: string;
}

/** The key of an issue about a whole file (unreadable, too large, not YAML). */
export const FILE_KEY = "(file)";

/** Where an issue is reported when a value comes from a caller rather than a file. */
export const INPUT_FILE = "(input)";

/**
 * The host definition is invalid. The message lists every problem, one per line, as
 * `<file>: <key>: <message>`, so a user fixes them all in one go.
 */
export class DefinitionError extends Error {
  readonly code = "DEFINITION" as const;
  readonly issues: readonly DefinitionIssue[];

  constructor(issues: readonly DefinitionIssue[]) {
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    super(`invalid host definition (${count}):\n${issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
    this.name = "DefinitionError";
    this.issues = issues;
  }
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A newline, NUL, escape...: never valid in a name or path, and unsafe to print raw. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** `<file>: <key>: <message>`; a file or key holding a newline is shown JSON-quoted. */
export function formatIssue(issue: DefinitionIssue): string {
  const quoted = (text: string): string => (hasControlCharacter(text) ? JSON.stringify(text) : text);
  return `${quoted(issue.file)}: ${quoted(issue.key)}: ${issue.message}`;
}

/**
 * A value as messages show it: JSON (so a newline or a quote is visible and cannot forge
 * another line of the error), shortened.
 */
export function showValue(value: unknown): string {
  // JSON.stringify gives undefined (despite its type) for undefined and functions.
  const text = (JSON.stringify(value) as string | undefined) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Collects the issues of one file, so validation goes on after the first problem. */
export class IssueList {
  readonly issues: DefinitionIssue[] = [];

  constructor(readonly file: string) {}

  add(key: string | readonly (string | number)[], message: string): void {
    this.issues.push({ file: this.file, key: typeof key === "string" ? key : key.join("."), message });
  }

  get empty(): boolean {
    return this.issues.length === 0;
  }
}

/** Throw a DefinitionError when there is anything to report. */
export function throwIfAny(issues: readonly DefinitionIssue[]): void {
  if (issues.length > 0) throw new DefinitionError(issues);
}
