import { DefinitionError, INPUT_FILE, showValue } from "./errors.js";

/**
 * Names, versions and architectures as RPM spells them, validated before they can reach a
 * command line (dnf, rpm, ostree) or a path. The character sets are those RPM itself
 * allows, minus nothing a real package uses: no whitespace, no quotes, no `;$()|&<>*?`.
 */

/** RPM architectures a binary package can have. */
export const RPM_ARCHES = [
  "noarch",
  "x86_64",
  "i686",
  "i586",
  "i486",
  "i386",
  "aarch64",
  "armv7hl",
  "armv7hnl",
  "armv6hl",
  "ppc64le",
  "ppc64",
  "s390x",
  "riscv64",
  "loongarch64",
] as const;

/** Base architectures a compose is for (`${basearch}`, `packages-<basearch>`). */
export const BASEARCHES = ["x86_64", "aarch64", "ppc64le", "s390x", "riscv64", "loongarch64", "armhfp", "i386"] as const;
export type Basearch = (typeof BASEARCHES)[number];

export function isRpmArch(arch: string): boolean {
  return (RPM_ARCHES as readonly string[]).includes(arch);
}

export function isBasearch(arch: string): arch is Basearch {
  return (BASEARCHES as readonly string[]).includes(arch);
}

const MAX_NAME = 255;
const MAX_VERSION = 128;

// A leading `-` would read as an option; a leading `.` could name `.`/`..` when a name
// becomes a path segment (a cache directory per package).
const PACKAGE_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
// Version and release: what rpm's own tools produce (`~` pre-release, `^` post-release).
const VERSION_PART = /^[A-Za-z0-9][A-Za-z0-9._+~^]*$/;
const EPOCH = /^[0-9]{1,10}$/;

/** Why `name` is not a valid RPM package name, or undefined when it is. */
export function packageNameProblem(name: string): string | undefined {
  if (name === "") return "must not be empty";
  if (name.length > MAX_NAME) return `must be at most ${MAX_NAME} characters`;
  if (!PACKAGE_NAME.test(name)) {
    return `${showValue(name)} is not a valid RPM package name (letters, digits and . _ + -, not starting with - or .)`;
  }
  return undefined;
}

export function isValidPackageName(name: string): boolean {
  return packageNameProblem(name) === undefined;
}

/** Why `part` is not a valid RPM version (or release), or undefined when it is. */
export function versionPartProblem(part: string, what: "version" | "release"): string | undefined {
  if (part === "") return `the ${what} must not be empty`;
  if (part.length > MAX_VERSION) return `the ${what} must be at most ${MAX_VERSION} characters`;
  if (!VERSION_PART.test(part)) {
    return `${what} ${showValue(part)} may hold only letters, digits and . _ + ~ ^ (starting with a letter or digit)`;
  }
  return undefined;
}

export function epochProblem(epoch: string): string | undefined {
  return EPOCH.test(epoch) ? undefined : `epoch ${showValue(epoch)} must be digits`;
}

/** Where an assert* failure is reported; by default as input from a caller. */
export interface IssuePlace {
  file?: string;
  key?: string;
}

export function failAt(place: IssuePlace | undefined, defaultKey: string, message: string): never {
  throw new DefinitionError([{ file: place?.file ?? INPUT_FILE, key: place?.key ?? defaultKey, message }]);
}

/** Throws a DefinitionError unless `name` is a valid RPM package name. */
export function assertPackageName(name: string, place?: IssuePlace): void {
  const problem = packageNameProblem(name);
  if (problem !== undefined) failAt(place, "name", problem);
}
