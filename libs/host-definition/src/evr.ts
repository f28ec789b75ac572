import { showValue } from "./errors.js";
import {
  epochProblem,
  failAt,
  isRpmArch,
  packageNameProblem,
  versionPartProblem,
  type IssuePlace,
} from "./rpm-names.js";

/** `[epoch:]version-release`, e.g. `1:1.32.12-2.fc35`. */
export interface Evr {
  /** Absent when the string had none (rpm then compares it as 0). */
  epoch?: number;
  version: string;
  release: string;
}

/** `[epoch:]version-release.arch`, e.g. `1:1.32.12-2.fc35.x86_64`. */
export interface Evra extends Evr {
  arch: string;
}

/** `name-[epoch:]version-release.arch`, e.g. `kernel-6.9.11-100.fc39.x86_64`. */
export interface Nevra extends Evra {
  name: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

export function tryParseEvr(text: string): Parsed<Evr> {
  const colon = text.indexOf(":");
  const epochText = colon >= 0 ? text.slice(0, colon) : undefined;
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  if (epochText !== undefined) {
    const problem = epochProblem(epochText);
    if (problem !== undefined) return fail(`${showValue(text)}: ${problem}`);
  }
  const parts = rest.split("-");
  if (parts.length !== 2) return fail(`${showValue(text)} is not [epoch:]version-release (exactly one - between version and release)`);
  const [version = "", release = ""] = parts;
  const problem = versionPartProblem(version, "version") ?? versionPartProblem(release, "release");
  if (problem !== undefined) return fail(`${showValue(text)}: ${problem}`);
  return { ok: true, value: epochText === undefined ? { version, release } : { epoch: Number(epochText), version, release } };
}

export function tryParseEvra(text: string): Parsed<Evra> {
  const dot = text.lastIndexOf(".");
  if (dot < 0) return fail(`${showValue(text)} is not [epoch:]version-release.arch`);
  const arch = text.slice(dot + 1);
  if (!isRpmArch(arch)) return fail(`${showValue(text)}: unknown architecture ${showValue(arch)}`);
  const evr = tryParseEvr(text.slice(0, dot));
  return evr.ok ? { ok: true, value: { ...evr.value, arch } } : evr;
}

export function tryParseNevra(text: string): Parsed<Nevra> {
  const dot = text.lastIndexOf(".");
  const arch = dot >= 0 ? text.slice(dot + 1) : "";
  if (!isRpmArch(arch)) return fail(`${showValue(text)} is not name-[epoch:]version-release.arch (unknown architecture ${showValue(arch)})`);
  const split = splitNameEvr(text.slice(0, dot));
  if (!split) return fail(`${showValue(text)} is not name-[epoch:]version-release.arch`);
  const nameProblem = packageNameProblem(split.name);
  if (nameProblem !== undefined) return fail(nameProblem);
  const evr = tryParseEvr(split.evr);
  return evr.ok ? { ok: true, value: { name: split.name, ...evr.value, arch } } : evr;
}

/** `kernel-6.9.11-100.fc39` → name `kernel`, evr `6.9.11-100.fc39` (the last two dashes split). */
export function splitNameEvr(text: string): { name: string; evr: string } | undefined {
  const releaseDash = text.lastIndexOf("-");
  const versionDash = releaseDash > 0 ? text.lastIndexOf("-", releaseDash - 1) : -1;
  if (versionDash <= 0) return undefined;
  return { name: text.slice(0, versionDash), evr: text.slice(versionDash + 1) };
}

function orThrow<T>(parsed: Parsed<T>, place: IssuePlace | undefined, key: string): T {
  if (!parsed.ok) return failAt(place, key, parsed.message);
  return parsed.value;
}

/** Parse `[epoch:]version-release`; throws a DefinitionError when it is not one. */
export function parseEvr(text: string, place?: IssuePlace): Evr {
  return orThrow(tryParseEvr(text), place, "evr");
}

/** Parse `[epoch:]version-release.arch`; throws a DefinitionError when it is not one. */
export function parseEvra(text: string, place?: IssuePlace): Evra {
  return orThrow(tryParseEvra(text), place, "evra");
}

/** Parse `name-[epoch:]version-release.arch`; throws a DefinitionError when it is not one. */
export function parseNevra(text: string, place?: IssuePlace): Nevra {
  return orThrow(tryParseNevra(text), place, "nevra");
}

export function assertEvr(text: string, place?: IssuePlace): void {
  parseEvr(text, place);
}

export function assertEvra(text: string, place?: IssuePlace): void {
  parseEvra(text, place);
}

/** Throws a DefinitionError unless `text` is a full `name-[epoch:]version-release.arch`. */
export function assertNevra(text: string, place?: IssuePlace): void {
  parseNevra(text, place);
}

// The format* functions re-parse what they build: a part holding a `-`, a space or a
// shell metacharacter must not become a string that looks valid to the next reader.

export function formatEvr(evr: Evr, place?: IssuePlace): string {
  const text = `${evr.epoch === undefined ? "" : `${evr.epoch}:`}${evr.version}-${evr.release}`;
  parseEvr(text, place);
  return text;
}

export function formatEvra(evra: Evra, place?: IssuePlace): string {
  const text = `${evra.epoch === undefined ? "" : `${evra.epoch}:`}${evra.version}-${evra.release}.${evra.arch}`;
  parseEvra(text, place);
  return text;
}

export function formatNevra(nevra: Nevra, place?: IssuePlace): string {
  const text = `${nevra.name}-${formatEvra(nevra, place)}`;
  parseNevra(text, place);
  return text;
}
