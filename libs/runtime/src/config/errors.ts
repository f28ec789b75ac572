/** One thing wrong with the configuration, with where the bad value came from. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `bus.prefetch` (`(file)` for the file as a whole). */
  path: string;
  /** Where the value came from: `env ATOMIC_CI_BUS__PREFETCH`, `file atomic-ci.yaml`, `default`, `not set`. */
  source: string;
  /** What is wrong; never contains the value of a secret key. */
  message: string;
}

/** The configuration is invalid. The message names every bad key and its source. */
export class ConfigError extends Error {
  readonly code = "CONFIG" as const;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `  ${i.path} (${i.source}): ${i.message}`);
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    super(`invalid configuration (${count}):\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

const SECRET_WORDS = /url|password|passphrase|token|secret|key/i;

/** Values of keys like these are never shown (URLs carry passwords, keys are keys). */
export function isSecretPath(path: readonly string[]): boolean {
  return path.some((segment) => SECRET_WORDS.test(segment));
}

/** A value as error messages show it: JSON, shortened, `<redacted>` for secrets. */
export function showValue(path: readonly string[], value: unknown): string {
  if (isSecretPath(path)) return "<redacted>";
  // JSON.stringify gives undefined (despite its type) for undefined and functions.
  const text = (JSON.stringify(value) as string | undefined) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A copy of a config object with the values of secret keys replaced, for logging it. */
export function redactConfig(value: unknown, path: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v, i) => redactConfig(v, [...path, String(i)]));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, [...path, k])]));
  }
  return value !== undefined && isSecretPath(path) ? "<redacted>" : value;
}
