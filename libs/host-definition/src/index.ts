// The public surface of @atomic-ci/host-definition: other packages import only from here.

export { DefinitionError, formatIssue, type DefinitionIssue } from "./errors.js";

export { loadTreefile, type AddFile, type LoadedTreefile, type LoadTreefileOptions, type Treefile } from "./treefile.js";
export { MAX_INCLUDE_DEPTH } from "./include.js";
export { SUPPORTED_KEYS as SUPPORTED_TREEFILE_KEYS, type JsonValue } from "./treefile-fragment.js";
export { parsePackageSpec, type PackageSpec, type PackageSpecResult } from "./package-spec.js";
export { nextAutomaticVersion, renderVersionPrefix, versionPrefixProblem, type NextVersionOptions } from "./version.js";
export { MAX_DEFINITION_FILE_BYTES } from "./source.js";

export {
  assertPackageName,
  BASEARCHES,
  isBasearch,
  isRpmArch,
  isValidPackageName,
  RPM_ARCHES,
  type Basearch,
  type IssuePlace,
} from "./rpm-names.js";
export {
  assertEvr,
  assertEvra,
  assertNevra,
  formatEvr,
  formatEvra,
  formatNevra,
  parseEvr,
  parseEvra,
  parseNevra,
  type Evr,
  type Evra,
  type Nevra,
} from "./evr.js";
export { compareEvr, rpmvercmp, type Ordering } from "./rpmvercmp.js";

export {
  loadLockfile,
  loadLockfiles,
  lockedEvr,
  mergeLockfiles,
  parseLockfile,
  serializeLockfile,
  type LockedPackage,
  type Lockfile,
  type LockfileMetadata,
} from "./lockfile.js";
export type { LoadFileOptions } from "./definition-file.js";
export {
  applyOverrides,
  loadOverrides,
  parseOverrides,
  type AppliedOverrides,
  type DroppedFastTrack,
  type OverrideEntry,
  type OverrideMetadata,
  type Overrides,
} from "./overrides.js";
export { addPin, removeFastTracks, removePin, type PinRequest } from "./overrides-edit.js";
