import { showValue } from "./errors.js";
import { splitNameEvr, tryParseEvr, type Evr } from "./evr.js";
import { isRpmArch, packageNameProblem } from "./rpm-names.js";

/**
 * One entry of a treefile's `packages`, as given (`kernel`, `kernel-6.9.11-100.fc39`) and
 * as read: the name, and the pinned version when the entry names one.
 */
export interface PackageSpec {
  /** The entry exactly as written; this is what goes to the depsolver. */
  spec: string;
  name: string;
  /** Set when the entry pins a version (`name-[epoch:]version-release[.arch]`). */
  evr?: Evr;
  arch?: string;
}

export type PackageSpecResult = { ok: true; value: PackageSpec } | { ok: false; message: string };

const startsWithDigit = (s: string): boolean => /^[0-9]/.test(s);

/**
 * Read one package entry. A bare name is a name; `name-version-release` is a pin when the
 * version and the release both start with a digit (a heuristic, like dnf's own reading of
 * NVR-looking specs): `NetworkManager-wifi` and `java-17-openjdk` stay names, while
 * `kernel-6.9.11-100.fc39` and `java-17-openjdk-17.0.9-1.fc39` are pins. An epoch
 * (`shim-x64-1:15.8-3`) and an arch suffix (`...fc39.x86_64`) are understood. Globs,
 * version queries (`podman >= 4.1`) and anything with other characters are refused.
 */
export function parsePackageSpec(spec: string): PackageSpecResult {
  const pin = readPin(spec);
  if (pin) return pin;
  if (spec.includes(":")) {
    return { ok: false, message: `${showValue(spec)} has an epoch but is not name-epoch:version-release` };
  }
  const problem = packageNameProblem(spec);
  if (problem !== undefined) return { ok: false, message: problem };
  // `glibc.i686`: a name with an arch. A name that merely contains a dot stays whole.
  const dot = spec.lastIndexOf(".");
  const arch = spec.slice(dot + 1);
  if (dot > 0 && isRpmArch(arch)) return { ok: true, value: { spec, name: spec.slice(0, dot), arch } };
  return { ok: true, value: { spec, name: spec } };
}

function readPin(spec: string): PackageSpecResult | undefined {
  let rest = spec;
  let arch: string | undefined;
  const dot = spec.lastIndexOf(".");
  if (dot > 0 && isRpmArch(spec.slice(dot + 1))) {
    arch = spec.slice(dot + 1);
    rest = spec.slice(0, dot);
  }
  const split = splitNameEvr(rest);
  if (!split) return undefined;
  const colon = split.evr.indexOf(":");
  const version = split.evr.slice(colon + 1);
  const release = version.slice(version.indexOf("-") + 1);
  if (!startsWithDigit(split.evr) || !startsWithDigit(version) || !startsWithDigit(release)) return undefined;
  const nameProblem = packageNameProblem(split.name);
  if (nameProblem !== undefined) return { ok: false, message: nameProblem };
  const evr = tryParseEvr(split.evr);
  if (!evr.ok) return { ok: false, message: evr.message };
  const value: PackageSpec = { spec, name: split.name, evr: evr.value };
  if (arch !== undefined) value.arch = arch;
  return { ok: true, value };
}
