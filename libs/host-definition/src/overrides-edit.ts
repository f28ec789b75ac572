import { DefinitionError, hasControlCharacter, IssueList, showValue, throwIfAny } from "./errors.js";
import { tryParseEvr, tryParseEvra } from "./evr.js";
import { lockedVersionText } from "./lockfile.js";
import { parseOverrides, type OverrideEntry, type Overrides } from "./overrides.js";
import { packageNameProblem } from "./rpm-names.js";
import { entryData, removeEntryYaml, setEntryYaml } from "./overrides-splice.js";
import { formatOf } from "./source.js";

/**
 * Editing the overrides file for `atomic-ci pin NAME EVR --reason URL` and for retiring
 * fast-tracks. YAML files are edited in place (see overrides-splice.ts), JSON ones
 * rewritten; every result is parsed again and compared with the intended change.
 */

export interface PinRequest {
  name: string;
  /** Exactly one of evr and evra. */
  evr?: string;
  evra?: string;
  /** Why the package is held, typically an issue URL. */
  reason: string;
}

const DEFAULT_FILE = "manifest-lock.overrides.yaml";

function pinEntry(pin: PinRequest, file: string): OverrideEntry {
  const issues = new IssueList(file);
  const at = `packages.${pin.name}`;
  const nameProblem = packageNameProblem(pin.name);
  if (nameProblem !== undefined) issues.add(at, nameProblem);
  let entry: OverrideEntry | undefined;
  const reason = pin.reason.trim();
  // A reason is one line of text.
  if (reason === "" || hasControlCharacter(reason)) issues.add(`${at}.metadata.reason`, "must be one non-empty line");
  const metadata = { type: "pin" as const, reason };
  if ((pin.evr === undefined) === (pin.evra === undefined)) {
    issues.add(at, "needs exactly one of evr and evra");
  } else if (pin.evra !== undefined) {
    const parsed = tryParseEvra(pin.evra);
    if (parsed.ok) entry = { evra: pin.evra, metadata };
    else issues.add(`${at}.evra`, parsed.message);
  } else if (pin.evr !== undefined) {
    const parsed = tryParseEvr(pin.evr);
    if (parsed.ok) entry = { evr: pin.evr, metadata };
    else issues.add(`${at}.evr`, parsed.message);
  }
  throwIfAny(issues.issues);
  if (!entry) throw new Error("unreachable: a valid pin has a version");
  return entry;
}

function isJson(file: string): boolean {
  return formatOf(file) === "json";
}

/** JSON overrides have no comments to keep: they are rewritten, keys in file order. */
function editJson(overrides: Overrides, edit: (packages: Map<string, OverrideEntry>) => void): string {
  const packages = new Map(overrides.packages);
  edit(packages);
  const out = Object.create(null) as Record<string, unknown>;
  for (const [name, entry] of packages) out[name] = entryData(entry);
  return `${JSON.stringify({ packages: out }, null, 2)}\n`;
}

/** The result must parse and hold exactly the intended change; anything else is a bug here. */
function verify(result: string, file: string, expected: Map<string, OverrideEntry>): string {
  const actual = parseOverrides(result, file).packages;
  const same =
    actual.size === expected.size &&
    [...expected].every(([name, entry]) => {
      const got = actual.get(name);
      return got !== undefined && JSON.stringify(entryData(got)) === JSON.stringify(entryData(entry));
    });
  if (!same) throw new Error(`editing ${file} went wrong; the file was left unchanged`);
  return result;
}

/**
 * Pin `pin.name` at a version, for a reason: add the entry, or replace the existing one
 * (a fast-track, or an older pin). Returns the new text; comments elsewhere are kept.
 */
export function addPin(text: string, pin: PinRequest, file = DEFAULT_FILE): string {
  const entry = pinEntry(pin, file);
  const current = parseOverrides(text, file);
  const expected = new Map(current.packages).set(pin.name, entry);
  const result = isJson(file) ? editJson(current, (p) => p.set(pin.name, entry)) : setEntryYaml(text, pin.name, entry);
  return verify(result, file, expected);
}

/**
 * Remove the pin of `name`. A fast-track of that name is not a pin: refused, so an
 * unpin does not silently drop it.
 */
export function removePin(text: string, name: string, file = DEFAULT_FILE): { text: string; removed: boolean } {
  const current = parseOverrides(text, file);
  const entry = current.packages.get(name);
  if (!entry) return { text, removed: false };
  if (entry.metadata.type !== "pin") {
    throw new DefinitionError([{ file, key: `packages.${name}.metadata.type`, message: `${showValue(name)} is a fast-track (${lockedVersionText(entry)}), not a pin` }]);
  }
  return { text: removeEntries(text, [name], file, current), removed: true };
}

/** Remove fast-track entries (those applyOverrides reported as reached by the lockfile). */
export function removeFastTracks(text: string, names: readonly string[], file = DEFAULT_FILE): string {
  const current = parseOverrides(text, file);
  const fastTracks = names.filter((name) => current.packages.get(name)?.metadata.type === "fast-track");
  return removeEntries(text, fastTracks, file, current);
}

function removeEntries(text: string, names: readonly string[], file: string, current: Overrides): string {
  const expected = new Map(current.packages);
  for (const name of names) expected.delete(name);
  if (isJson(file)) return verify(editJson(current, (p) => names.forEach((n) => p.delete(n))), file, expected);
  let result = text;
  for (const name of names) result = removeEntryYaml(result, name);
  return verify(result, file, expected);
}
