/**
 * Checks for values that end up in a tool's argument vector. No shell is involved, so
 * metacharacters are harmless there; what is not harmless is a value a tool reads as an option
 * (`--eval=...`, `-D...`) or a value that breaks a line-based format (a newline in a name makes
 * one record two). Each check returns its input so it can wrap the value where it is used.
 */
export class UnsafeArgumentError extends Error {
  readonly what: string;
  readonly value: string;
  constructor(what: string, value: string, reason: string) {
    super(`${what} ${JSON.stringify(value)} ${reason}`);
    this.name = "UnsafeArgumentError";
    this.what = what;
    this.value = value;
  }
}

// eslint-disable-next-line no-control-regex -- NUL and line breaks are exactly what we reject
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Any free-form argument: non-empty, not option-like, no control characters (NUL, newline, ...). */
export function safeArg(value: string, what = "argument"): string {
  if (value.length === 0) throw new UnsafeArgumentError(what, value, "is empty");
  if (value.startsWith("-")) throw new UnsafeArgumentError(what, value, "starts with '-' and would be read as an option");
  if (CONTROL.test(value)) throw new UnsafeArgumentError(what, value, "contains a control character (NUL, newline, ...)");
  return value;
}

/** A file system path. Spaces and quotes are fine (no shell); option-like and control characters are not. */
export function safePath(value: string, what = "path"): string {
  return safeArg(value, what);
}

/**
 * An RPM package name (also used for dist-git repository names): rpm allows letters, digits
 * and `._+-`; we also require the first character to be a letter, digit or `_`.
 */
const RPM_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;
export function safeRpmName(value: string, what = "package name"): string {
  safeArg(value, what);
  if (value.length > 200 || !RPM_NAME.test(value)) {
    throw new UnsafeArgumentError(what, value, "is not a package name (letters, digits and ._+- only)");
  }
  return value;
}

/** An RPM version or release: no `-` (it separates NVR fields), no spaces, `~^` allowed. */
const RPM_VERSION = /^[A-Za-z0-9_][A-Za-z0-9._+~^]*$/;
export function safeRpmVersion(value: string, what = "version"): string {
  safeArg(value, what);
  if (value.length > 200 || !RPM_VERSION.test(value)) {
    throw new UnsafeArgumentError(what, value, "is not an RPM version/release (letters, digits and ._+~^ only)");
  }
  return value;
}

/** An rpm macro name for `--define`. */
const MACRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export function safeMacroName(value: string): string {
  if (!MACRO_NAME.test(value)) throw new UnsafeArgumentError("macro name", value, "is not a macro name");
  return value;
}

/**
 * A macro body for `--define`. rpm expands `%` in it when the macro is used — `%(cmd)` runs a
 * shell — so anything not written by us must go through {@link literalMacroValue} first.
 */
export function safeMacroValue(value: string, what = "macro value"): string {
  if (CONTROL.test(value)) throw new UnsafeArgumentError(what, value, "contains a control character");
  return value;
}

/** Escape a literal string for use as a macro body: `%` becomes `%%`. */
export function literalMacroValue(value: string): string {
  return safeMacroValue(value).replaceAll("%", "%%");
}

/**
 * A git revision: a hex object id, or a ref-like name as `git check-ref-format` would accept
 * it, optionally followed by `~N`/`^N` suffixes. Ranges, `:path` and `@{...}` are rejected.
 */
const GIT_REV = /^(?:[0-9a-f]{4,64}|[A-Za-z0-9_][A-Za-z0-9._/+-]*)(?:[~^][0-9]*)*$/;
export function safeGitRev(value: string, what = "git revision"): string {
  safeArg(value, what);
  if (!GIT_REV.test(value) || value.includes("..") || value.includes("//") || value.endsWith(".lock") || value.endsWith("/")) {
    throw new UnsafeArgumentError(what, value, "is not a commit id or ref name");
  }
  return value;
}

/** A path inside a git tree (for `git show REV:PATH`): relative, no `..` segments, no control characters. */
export function safeRepoPath(value: string, what = "repository path"): string {
  safeArg(value, what);
  if (value.startsWith("/") || value.split("/").some((part) => part === ".." || part === "")) {
    throw new UnsafeArgumentError(what, value, "must be a relative path inside the repository without '..'");
  }
  return value;
}
