// Commit metadata in the GVariant text format that `ostree commit --add-metadata` reads.
import type { JsonValue } from "@atomic-ci/host-definition";
import type { PackageDiff, ResolvedPackage } from "./result.js";
import { gvString } from "./tools/ostree.js";

/** rpm-ostree's `rpmostree.rpmdb.pkglist`: `a(sssss)` of name, epoch, version, release, arch. */
export function pkglistGVariant(packages: readonly ResolvedPackage[]): string {
  if (packages.length === 0) return "@a(sssss) []";
  return `[${packages.map((p) => `(${[p.name, String(p.epoch), p.version, p.release, p.arch].map(gvString).join(", ")})`).join(", ")}]`;
}

export interface PkglistEntry {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
}

/** Read back what `ostree show --print-metadata-key=rpmostree.rpmdb.pkglist` prints (names are validated RPM names: no quotes to worry about). */
export function parsePkglist(text: string): PkglistEntry[] {
  const entries: PkglistEntry[] = [];
  const str = `'((?:[^'\\\\]|\\\\.)*)'`;
  const tuple = new RegExp(`\\(${[str, str, str, str, str].join(", ")}\\)`, "g");
  for (const m of text.matchAll(tuple)) {
    const un = (v: string | undefined): string => (v ?? "").replace(/\\(.)/g, "$1");
    entries.push({ name: un(m[1]), epoch: Number(m[2]), version: un(m[3]), release: un(m[4]), arch: un(m[5]) });
  }
  return entries;
}

/** A treefile `add-commit-metadata` value as GVariant text: strings, booleans and numbers natively, the rest as JSON text. */
export function jsonToGVariant(value: JsonValue): string {
  if (typeof value === "string") return gvString(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Number.isInteger(value) ? `int64 ${value}` : `${value}`;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string")) return `[${value.map((v) => gvString(v)).join(", ")}]`;
  return gvString(JSON.stringify(value));
}

function evraOf(p: PkglistEntry): string {
  return `${p.epoch ? `${p.epoch}:` : ""}${p.version}-${p.release}.${p.arch}`;
}

/** What changed between the parent's package list and this one. */
export function packageDiff(before: readonly PkglistEntry[], after: readonly PkglistEntry[]): PackageDiff {
  const old = new Map(before.map((p) => [p.name, evraOf(p)]));
  const now = new Map(after.map((p) => [p.name, evraOf(p)]));
  const diff: PackageDiff = { added: [], removed: [], changed: [] };
  for (const [name, evra] of now) {
    const was = old.get(name);
    if (was === undefined) diff.added.push(`${name}-${evra}`);
    else if (was !== evra) diff.changed.push({ name, from: was, to: evra });
  }
  for (const [name, evra] of old) if (!now.has(name)) diff.removed.push(`${name}-${evra}`);
  return diff;
}
