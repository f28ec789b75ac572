import { dirname } from "node:path";
import { z } from "zod";
import { confineLexically } from "./confine.js";
import { IssueList, showValue } from "./errors.js";
import { parsePackageSpec, type PackageSpec } from "./package-spec.js";
import { isBasearch, packageNameProblem } from "./rpm-names.js";
import { isMapping } from "./source.js";
import { addFileDestProblem, treePathProblem } from "./tree-paths.js";

/**
 * One treefile as written, validated key by key, before includes are merged. Each value
 * remembers the file it came from so that a problem found after merging (a bad variable
 * in `ref`) is still reported against the right file.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Sourced<T> {
  value: T;
  /** The file that set it, relative to the definition root. */
  file: string;
}

/** Scalar keys: the including file wins over what it includes. */
export interface TreefileScalars {
  ref: string;
  releasever: string;
  "automatic-version-prefix": string;
  "mutate-os-release": string;
  "default-target": string;
  recommends: boolean;
  documentation: boolean;
}

export interface AddFileEntry {
  /** As written, relative to the directory of the treefile that names it. */
  source: string;
  /** The source relative to the definition root, with `/`. */
  sourceInRoot: string;
  sourcePath: string;
  dest: string;
  /** Where it was written, for issues found on disk. */
  file: string;
  key: string;
}

/** List keys: included lists come first, then the including file's. */
export interface TreefileLists {
  repos: string[];
  packages: PackageSpec[];
  "exclude-packages": string[];
  "add-files": AddFileEntry[];
  "remove-files": string[];
  postprocess: string[];
  units: string[];
}

export interface IncludeEntry {
  reference: string;
  key: string;
  absolute: string;
  display: string;
}

export interface TreefileFragment {
  file: string;
  scalars: { [K in keyof TreefileScalars]?: Sourced<TreefileScalars[K]> };
  lists: TreefileLists;
  /** `add-commit-metadata`: the including file wins per key. */
  metadata: Map<string, Sourced<JsonValue>>;
  include: IncludeEntry[];
}

export interface FragmentContext {
  /** Absolute path of the treefile. */
  path: string;
  /** Absolute definition root. */
  root: string;
  basearch: string;
  issues: IssueList;
}


const UNIT_TYPES = "service|socket|target|timer|path|mount|automount|swap|slice|scope|device";
const UNIT_NAME = new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${UNIT_TYPES})$`);
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const RELEASEVER = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const nonEmpty = z.string().min(1, "must not be empty");
const stringList = z.array(nonEmpty);

export function emptyFragment(file: string): TreefileFragment {
  return {
    file,
    scalars: {},
    lists: { repos: [], packages: [], "exclude-packages": [], "add-files": [], "remove-files": [], postprocess: [], units: [] },
    metadata: new Map(),
    include: [],
  };
}

/** Run a zod schema over one key's value; report its issues under that key. */
function check<T>(schema: z.ZodType<T>, value: unknown, key: string, issues: IssueList): T | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    issues.add([key, ...issue.path.map(String)], issue.message.replace(/^Invalid input: /, ""));
  }
  return undefined;
}

type Handler = (value: unknown, key: string, fragment: TreefileFragment, ctx: FragmentContext) => void;

function scalar<K extends keyof TreefileScalars>(name: K, schema: z.ZodType<TreefileScalars[K]>): Handler {
  return (value, key, fragment, ctx) => {
    const parsed = check(schema, value, key, ctx.issues);
    if (parsed !== undefined) fragment.scalars[name] = { value: parsed, file: fragment.file } as TreefileFragment["scalars"][K];
  };
}

function list(name: "repos" | "exclude-packages" | "remove-files" | "postprocess" | "units", schema: z.ZodType<string[]>): Handler {
  return (value, key, fragment, ctx) => {
    const parsed = check(schema, value, key, ctx.issues);
    if (parsed) fragment.lists[name].push(...parsed);
  };
}

/** Entries are split on whitespace (so one line may list several packages), then read. */
const packages: Handler = (value, key, fragment, ctx) => {
  const entries = check(z.array(z.string()), value, key, ctx.issues);
  entries?.forEach((entry, i) => {
    const words = entry.split(/\s+/).filter((w) => w !== "");
    if (words.length === 0) ctx.issues.add([key, i], "empty entry");
    for (const word of words) {
      const spec = parsePackageSpec(word);
      if (spec.ok) fragment.lists.packages.push(spec.value);
      else ctx.issues.add([key, i], spec.message);
    }
  });
};

const packageName = nonEmpty.superRefine((name, ctx) => {
  const problem = packageNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** `remove-files` are paths inside the composed tree: relative, normalised, no `..`. */
const treePath = nonEmpty.superRefine((path, ctx) => {
  const problem = treePathProblem(path);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

const addFiles: Handler = (value, key, fragment, ctx) => {
  // Each pair on its own, so one malformed pair does not hide the others' problems.
  const entries = check(z.array(z.unknown()), value, key, ctx.issues) ?? [];
  entries.forEach((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" || typeof entry[1] !== "string") {
      ctx.issues.add([key, i], `expected a [source, destination] pair of strings, got ${showValue(entry)}`);
      return;
    }
    const [source, dest] = entry as [string, string];
    const destProblem = addFileDestProblem(dest);
    if (destProblem !== undefined) ctx.issues.add([key, i, 1], destProblem);
    const confined = confineLexically(ctx.root, dirname(ctx.path), source);
    if (!confined.ok) ctx.issues.add([key, i, 0], confined.message);
    if (destProblem === undefined && confined.ok) {
      fragment.lists["add-files"].push({
        source,
        sourceInRoot: confined.display,
        sourcePath: confined.absolute,
        dest,
        file: fragment.file,
        key: `${key}.${i}.0`,
      });
    }
  });
};

const include: Handler = (value, key, fragment, ctx) => {
  const single = typeof value === "string";
  const references = single ? [value] : check(z.array(z.string(), "expected a path or a list of paths"), value, key, ctx.issues);
  references?.forEach((reference, i) => {
    const at = single ? key : `${key}.${i}`;
    if (!/\.(ya?ml|json)$/i.test(reference)) {
      ctx.issues.add(at, `${showValue(reference)} must end in .yaml, .yml or .json`);
      return;
    }
    const confined = confineLexically(ctx.root, dirname(ctx.path), reference);
    if (confined.ok) fragment.include.push({ reference, key: at, absolute: confined.absolute, display: confined.display });
    else ctx.issues.add(at, confined.message);
  });
};

const metadata: Handler = (value, key, fragment, ctx) => {
  if (!isMapping(value)) {
    ctx.issues.add(key, "expected a mapping of keys to values");
    return;
  }
  for (const [name, entry] of Object.entries(value)) {
    if (name === "") ctx.issues.add(key, "keys must not be empty");
    const parsed = check(z.json(), entry, `${key}.${name}`, ctx.issues);
    if (parsed !== undefined && name !== "") fragment.metadata.set(name, { value: parsed, file: fragment.file });
  }
};

const HANDLERS: Readonly<Record<string, Handler>> = {
  ref: scalar("ref", nonEmpty),
  releasever: scalar(
    "releasever",
    z
      .custom<string | number>(
        (v) => (typeof v === "string" && RELEASEVER.test(v)) || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0),
        "expected a whole number or a string of letters, digits, . _ and -",
      )
      .transform(String),
  ),
  "automatic-version-prefix": scalar("automatic-version-prefix", nonEmpty),
  "mutate-os-release": scalar("mutate-os-release", nonEmpty),
  "default-target": scalar("default-target", z.string().regex(/^[A-Za-z0-9:_.@\\-]+\.target$/, "must name a systemd target (e.g. multi-user.target)")),
  recommends: scalar("recommends", z.boolean()),
  documentation: scalar("documentation", z.boolean()),
  repos: list("repos", z.array(z.string().regex(REPO_ID, "must be a repository id (letters, digits, . _ : -)"))),
  packages,
  "exclude-packages": list("exclude-packages", z.array(packageName)),
  "add-files": addFiles,
  "remove-files": list("remove-files", z.array(treePath)),
  postprocess: list("postprocess", stringList),
  units: list("units", z.array(z.string().regex(UNIT_NAME, `must name a systemd unit (name.${UNIT_TYPES.split("|").join("|.")})`))),
  "add-commit-metadata": metadata,
  include,
};

export const SUPPORTED_KEYS: readonly string[] = [...Object.keys(HANDLERS), "packages-<basearch>"];

/** Validate one parsed treefile. Issues go to `ctx.issues`; what is valid is kept. */
export function readFragment(value: unknown, file: string, ctx: FragmentContext): TreefileFragment {
  const fragment = emptyFragment(file);
  if (!isMapping(value)) {
    ctx.issues.add("(file)", "the top level must be a mapping of treefile keys");
    return fragment;
  }
  const archKeys: string[] = [];
  for (const [key, entry] of Object.entries(value)) {
    const handler = Object.hasOwn(HANDLERS, key) ? HANDLERS[key] : undefined;
    if (handler) {
      handler(entry, key, fragment, ctx);
    } else if (key.startsWith("packages-")) {
      archKeys.push(key);
    } else {
      ctx.issues.add(key, "unknown key (not supported; see docs/host-definition.md)");
    }
  }
  // packages-<arch> joins packages after the file's own entries, as rpm-ostree appends it.
  for (const key of archKeys) {
    const arch = key.slice("packages-".length);
    if (!isBasearch(arch)) {
      ctx.issues.add(key, `unknown base architecture ${showValue(arch)}`);
      continue;
    }
    if (arch === ctx.basearch) {
      packages(value[key], key, fragment, ctx);
    } else {
      // Validated even when not used, so an error does not wait for the other arch's compose.
      packages(value[key], key, emptyFragment(file), ctx);
    }
  }
  return fragment;
}
