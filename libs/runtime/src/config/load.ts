import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { CONFIG_PATH_ENV, readEnv } from "./env.js";
import { ConfigError, showValue, type ConfigIssue } from "./errors.js";

export interface LoadConfigOptions {
  /** Environment to read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** YAML config file. Wins over `argvConfigPath` and `ATOMIC_CI_CONFIG`. */
  file?: string;
  /** A `--config` path from a command line; wins over `ATOMIC_CI_CONFIG`. */
  argvConfigPath?: string;
  /** Lowest layer, under the file: defaults only the caller knows (service name, bindings). */
  defaults?: Record<string, unknown>;
  /** Highest layer, over env: what the caller fixes in code (tests, the all-in-one runner). */
  overrides?: Record<string, unknown>;
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The merged raw input and, for every key path set, the source that set it last, so an
 * error can say where a bad value came from. Objects are built without a prototype: keys
 * like `__proto__` in a file stay plain (unknown) keys.
 */
class Layers {
  readonly input: Tree = Object.create(null) as Tree;
  private readonly sources = new Map<string, string>();

  set(path: readonly string[], value: unknown, source: string): void {
    let node = this.input;
    path.forEach((key, i) => {
      if (i === path.length - 1) return;
      if (!isTree(node[key])) node[key] = Object.create(null) as Tree;
      node = node[key] as Tree;
      this.sources.set(path.slice(0, i + 1).join("."), source);
    });
    const last = path[path.length - 1];
    if (last === undefined) return;
    if (isTree(value)) {
      if (!isTree(node[last])) node[last] = Object.create(null) as Tree;
      this.sources.set(path.join("."), source);
      for (const [key, child] of Object.entries(value)) this.set([...path, key], child, source);
    } else {
      node[last] = value;
      this.sources.set(path.join("."), source);
    }
  }

  merge(tree: Tree, source: string): void {
    for (const [key, value] of Object.entries(tree)) this.set([key], value, source);
  }

  valueAt(path: readonly string[]): unknown {
    let node: unknown = this.input;
    for (const key of path) node = isTree(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    return node;
  }

  /** The source of the value at `path`, or of the nearest enclosing key that has one. */
  sourceOf(path: readonly string[]): string {
    // A missing value has no source, whatever set its siblings.
    if (this.valueAt(path) === undefined) return "not set";
    for (let n = path.length; n > 0; n--) {
      const source = this.sources.get(path.slice(0, n).join("."));
      if (source) return source;
    }
    return "default";
  }
}

function readConfigFile(path: string): { tree: Tree } | { issue: ConfigIssue } {
  const source = `file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "read error";
    return { issue: { path: "(file)", source, message: `cannot read the config file (${code})` } };
  }
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error) {
    // The parser's own message quotes the offending line, which may hold a secret.
    const at = error.linePos?.[0];
    const where = at ? ` at line ${at.line}, column ${at.col}` : "";
    return { issue: { path: "(file)", source, message: `invalid YAML${where} (${error.code})` } };
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return { tree: {} };
  if (!isTree(value)) return { issue: { path: "(file)", source, message: "the top level must be a mapping of keys" } };
  return { tree: value };
}

const ARTICLE: Record<string, string> = { array: "an array", object: "a mapping", int: "an integer", undefined: "nothing" };

function describeIssue(issue: z.core.$ZodIssue, path: string[], value: unknown): string {
  const got = value === undefined ? "" : `, got ${showValue(path, value)}`;
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return `required (expected ${ARTICLE[issue.expected] ?? `a ${issue.expected}`})`;
      return `expected ${ARTICLE[issue.expected] ?? `a ${issue.expected}`}${got}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got}`;
    default:
      // zod's own wording ("Too small: expected number to be >=1") never quotes the input.
      return `${issue.message.replace(/^Invalid input: /, "")}${got}`;
  }
}

/**
 * Load and validate configuration once, at start. Layers, lowest first: the schema's
 * defaults, `options.defaults`, the YAML file, the alias env vars (AMQP_URL, NATS_URL,
 * REDIS_URL), `ATOMIC_CI_*` env vars, `options.overrides`. Throws ConfigError naming every
 * bad key with its source; unknown keys from any source are errors.
 */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}): z.output<S> {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const layers = new Layers();
  if (options.defaults) layers.merge(options.defaults, "default");

  const file = options.file ?? options.argvConfigPath ?? (env[CONFIG_PATH_ENV] || undefined);
  if (file !== undefined) {
    const read = readConfigFile(file);
    if ("issue" in read) issues.push(read.issue);
    else layers.merge(read.tree, `file ${file}`);
  }

  const fromEnv = readEnv(schema, env);
  for (const entry of fromEnv.aliases) layers.set(entry.path, entry.value, `env ${entry.name}`);
  for (const entry of fromEnv.entries) layers.set(entry.path, entry.value, `env ${entry.name}`);
  for (const problem of fromEnv.problems) {
    issues.push({ path: problem.path.join("."), source: `env ${problem.name}`, message: problem.message });
  }
  if (options.overrides) layers.merge(options.overrides, "override");

  const result = schema.safeParse(layers.input);
  if (result.success && issues.length === 0) return result.data;
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) issues.push({ path: [...path, key].join("."), source: layers.sourceOf([...path, key]), message: "unknown key" });
      } else {
        issues.push({ path: path.join(".") || "(root)", source: layers.sourceOf(path), message: describeIssue(issue, path, layers.valueAt(path)) });
      }
    }
  }
  throw new ConfigError(issues);
}
