import { DefinitionError, INPUT_FILE, showValue } from "./errors.js";

/**
 * `automatic-version-prefix`: the version of each new commit, computed as rpm-ostree does.
 * `<date:FORMAT>` tags are first replaced by the date (UTC). Then, with `.` between prefix
 * and counter:
 * - without a date tag, the first commit gets the prefix itself, the next `<prefix>.1`,
 *   then `.2`, ... (`22`, `22.1`, `22.2`);
 * - with a date tag, the counter is always present and starts at 0, so it resets on each
 *   new date: `41.20261126.dev.0`, `41.20261126.dev.1`, then `41.20261127.dev.0`;
 * - a previous version that does not start with the (rendered) prefix, or that continues
 *   it with something other than `.`, starts over.
 */

const TAG = /<([A-Za-z]+):([^<>]*)>/g;

/** strftime conversions we render (UTC). GLib knows more; these are what versions use. */
const CONVERSIONS: Readonly<Record<string, (d: Date) => string>> = {
  Y: (d) => String(d.getUTCFullYear()).padStart(4, "0"),
  y: (d) => String(d.getUTCFullYear() % 100).padStart(2, "0"),
  m: (d) => String(d.getUTCMonth() + 1).padStart(2, "0"),
  d: (d) => String(d.getUTCDate()).padStart(2, "0"),
  H: (d) => String(d.getUTCHours()).padStart(2, "0"),
  M: (d) => String(d.getUTCMinutes()).padStart(2, "0"),
  S: (d) => String(d.getUTCSeconds()).padStart(2, "0"),
  j: (d) => String(Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1).padStart(3, "0"),
  "%": () => "%",
};

/** Why `prefix` cannot be a version prefix (unknown tag or conversion), or undefined. */
export function versionPrefixProblem(prefix: string): string | undefined {
  if (prefix === "") return "must not be empty";
  for (const [whole, tag, format = ""] of prefix.matchAll(TAG)) {
    const problem = tag === "date" ? formatProblem(format) : `unknown tag ${whole}`;
    if (problem !== undefined) return `${problem} (only <date:FORMAT> with %Y %y %m %d %H %M %S %j %%)`;
  }
  const rest = prefix.replace(TAG, "");
  if (/[<>]/.test(rest)) return `${showValue(prefix)} has a < or > outside a <date:FORMAT> tag`;
  if (/\s/.test(prefix)) return `${showValue(prefix)} must not contain whitespace`;
  return undefined;
}

function formatProblem(format: string): string | undefined {
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== "%") continue;
    const conversion = format.charAt(i + 1);
    if (!Object.hasOwn(CONVERSIONS, conversion)) return `unsupported date conversion %${conversion}`;
    i++;
  }
  return undefined;
}

export function formatDate(format: string, date: Date): string {
  return format.replace(/%(.?)/g, (whole, conversion: string) => CONVERSIONS[conversion]?.(date) ?? whole);
}

function assertPrefix(prefix: string): void {
  const problem = versionPrefixProblem(prefix);
  if (problem !== undefined) throw new DefinitionError([{ file: INPUT_FILE, key: "automatic-version-prefix", message: problem }]);
}

/** The prefix with its `<date:FORMAT>` tags rendered for `now` (UTC). */
export function renderVersionPrefix(prefix: string, now: Date): { rendered: string; dated: boolean } {
  assertPrefix(prefix);
  let dated = false;
  const rendered = prefix.replace(TAG, (_whole, _tag: string, format: string) => {
    dated = true;
    return formatDate(format, now);
  });
  return { rendered, dated };
}

export interface NextVersionOptions {
  /** The time of the compose; its UTC date fills `<date:...>`. */
  now: Date;
  /** The version of the previous commit on the ref, if there is one with a version. */
  previous?: string | undefined;
}

/** The version of the next commit, given the (substituted) `automatic-version-prefix`. */
export function nextAutomaticVersion(prefix: string, options: NextVersionOptions): string {
  const { rendered, dated } = renderVersionPrefix(prefix, options.now);
  const { previous } = options;
  const restart = dated ? `${rendered}.0` : rendered;
  if (previous === undefined || !previous.startsWith(rendered)) return restart;
  if (previous === rendered) return dated ? restart : `${rendered}.1`;
  const rest = previous.slice(rendered.length);
  if (!rest.startsWith(".")) return restart;
  // Like rpm-ostree's strtoull: the leading digits count, none at all count as 0.
  const digits = /^[0-9]*/.exec(rest.slice(1))?.[0] ?? "";
  const counter = digits === "" ? 0n : BigInt(digits);
  return `${rendered}.${counter + 1n}`;
}
