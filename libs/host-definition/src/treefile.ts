import { realpath } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { confineLexically, displayPath } from "./confine.js";
import { DefinitionError, INPUT_FILE, showValue, throwIfAny } from "./errors.js";
import { loadFragmentTree, type IncludeState } from "./include.js";
import type { PackageSpec } from "./package-spec.js";
import { BASEARCHES, isBasearch, type Basearch } from "./rpm-names.js";
import { substituteVariables } from "./substitute.js";
import type { JsonValue, Sourced, TreefileFragment } from "./treefile-fragment.js";
import { versionPrefixProblem } from "./version.js";

export interface AddFile {
  /** The source relative to the definition root, with `/`. */
  source: string;
  /** The source's absolute path (checked to be a regular file inside the root). */
  sourcePath: string;
  /** Absolute destination under /usr or /etc. */
  dest: string;
}

/** A treefile with its includes merged, validated, and its variables substituted. */
export interface Treefile {
  basearch: Basearch;
  /** The ostree ref, `${basearch}` and `${releasever}` substituted. */
  ref: string;
  releasever?: string;
  /** Repository ids (from `.repo` files beside the treefile) to compose from. */
  repos: string[];
  /** Package entries as written (split on whitespace), `packages-<basearch>` included. */
  packages: string[];
  /** The same entries, read: name and, for a pinned entry, its EVR. */
  packageSpecs: PackageSpec[];
  excludePackages: string[];
  addFiles: AddFile[];
  /** Paths relative to the tree's root (`usr/share/info`). */
  removeFiles: string[];
  /** Inline scripts, in the order they run. */
  postprocess: string[];
  /** Keys sorted; top-level strings substituted. */
  addCommitMetadata: Record<string, JsonValue>;
  /** Substituted; `<date:...>` tags left for nextAutomaticVersion. */
  automaticVersionPrefix?: string;
  mutateOsRelease?: string;
  units: string[];
  defaultTarget?: string;
  /** Install weak dependencies; rpm-ostree's default is true. */
  recommends: boolean;
  /** Install files marked as documentation; rpm-ostree's default is true. */
  documentation: boolean;
}

export interface LoadedTreefile {
  treefile: Treefile;
  /** Absolute definition root everything was confined to. */
  root: string;
  /** Absolute paths of the treefiles read (the given one first, then includes depth first). */
  files: string[];
}

export interface LoadTreefileOptions {
  /** The architecture composed for: picks `packages-<basearch>`, fills `${basearch}`. */
  basearch: string;
  /** Includes and add-files must stay in here. Default: the treefile's directory. */
  root?: string;
}

// ostree's ref syntax: components of letters, digits, `_`, `-`, `.`, not starting with `-` or `.`.
const OSTREE_REF = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

/**
 * Load a treefile (YAML or JSON), follow its includes, and return the merged, validated
 * result. Throws a DefinitionError listing every problem found in every file.
 */
export async function loadTreefile(path: string, options: LoadTreefileOptions): Promise<LoadedTreefile> {
  const { basearch } = options;
  if (!isBasearch(basearch)) {
    throw new DefinitionError([{ file: INPUT_FILE, key: "basearch", message: `unknown base architecture ${showValue(basearch)} (one of ${BASEARCHES.join(", ")})` }]);
  }
  const absolute = resolve(path);
  const root = resolve(options.root ?? dirname(absolute));
  const confined = confineLexically(root, root, displayPath(root, absolute));
  if (!confined.ok) throw new DefinitionError([{ file: absolute, key: "(file)", message: "is not inside the definition root" }]);

  const realRoot = await realpath(root).catch(() => root);
  const realTop = await realpath(absolute).catch(() => absolute);
  const display = confined.display;
  const state: IncludeState = { root, realRoot, basearch, issues: [], files: [], seen: new Map([[realTop, display]]), incomplete: false };
  const merged = await loadFragmentTree(absolute, display, 0, [{ real: realTop, display }], state);
  const treefile = finish(merged, basearch, display, state);
  throwIfAny(state.issues);
  return { treefile, root, files: state.files };
}

/** Checks that need the merged whole, then the typed result. */
function finish(merged: TreefileFragment, basearch: Basearch, topFile: string, state: IncludeState): Treefile {
  const { issues } = state;
  const { scalars, lists } = merged;
  const releasever = scalars.releasever?.value;
  const variables = { basearch, releasever };
  const substitute = (entry: Sourced<string> | undefined, key: string): string | undefined => {
    if (!entry) return undefined;
    const result = substituteVariables(entry.value, variables);
    if (result.ok) return result.value;
    issues.push({ file: entry.file, key, message: result.message });
    return undefined;
  };

  const ref = substitute(scalars.ref, "ref");
  if (!scalars.ref) {
    // A file that could not be read may be the one with the ref: then say nothing more.
    if (!state.incomplete) issues.push({ file: topFile, key: "ref", message: "required (in this file or one it includes)" });
  } else if (ref !== undefined && !OSTREE_REF.test(ref)) {
    issues.push({ file: scalars.ref.file, key: "ref", message: `${showValue(ref)} is not a valid ostree ref (components of letters, digits, . _ - separated by /)` });
  }

  const versionPrefix = substitute(scalars["automatic-version-prefix"], "automatic-version-prefix");
  const prefixProblem = versionPrefix === undefined ? undefined : versionPrefixProblem(versionPrefix);
  if (prefixProblem !== undefined && scalars["automatic-version-prefix"]) {
    issues.push({ file: scalars["automatic-version-prefix"].file, key: "automatic-version-prefix", message: prefixProblem });
  }

  const metadata: [string, JsonValue][] = [];
  for (const [key, entry] of [...merged.metadata].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const value = typeof entry.value === "string" ? substitute({ value: entry.value, file: entry.file }, `add-commit-metadata.${key}`) : entry.value;
    if (value !== undefined) metadata.push([key, value]);
  }

  const excluded = new Set(lists["exclude-packages"]);
  for (const spec of lists.packages) {
    if (excluded.has(spec.name)) issues.push({ file: topFile, key: "exclude-packages", message: `${showValue(spec.name)} is both in packages and in exclude-packages` });
  }

  const treefile: Treefile = {
    basearch,
    ref: ref ?? "",
    repos: lists.repos,
    packages: lists.packages.map((p) => p.spec),
    packageSpecs: lists.packages,
    excludePackages: lists["exclude-packages"],
    addFiles: lists["add-files"].map(({ sourceInRoot, sourcePath, dest }) => ({ source: sourceInRoot, sourcePath, dest })),
    removeFiles: lists["remove-files"],
    postprocess: lists.postprocess,
    addCommitMetadata: Object.fromEntries(metadata),
    units: lists.units,
    recommends: scalars.recommends?.value ?? true,
    documentation: scalars.documentation?.value ?? true,
  };
  if (releasever !== undefined) treefile.releasever = releasever;
  if (versionPrefix !== undefined) treefile.automaticVersionPrefix = versionPrefix;
  const osRelease = substitute(scalars["mutate-os-release"], "mutate-os-release");
  if (osRelease !== undefined) treefile.mutateOsRelease = osRelease;
  if (scalars["default-target"]) treefile.defaultTarget = scalars["default-target"].value;
  return treefile;
}
