// The fmf subset: a tree rooted where `.fmf/version` is (the repository root only), built from
// every `*.fmf` file. A directory is a node (`/dir`) whose data is its `main.fmf`; `name.fmf`
// is a child node `/dir/name`; keys starting with `/` inside a file are child nodes. Children
// inherit their parent's keys; `key+` extends the inherited value (lists and strings append,
// mappings merge); any other modifier suffix is a DiscoveryError.
import { posix } from "node:path";
import { DiscoveryError } from "../model.js";
import { isMapping, parseYaml, type Mapping } from "./yaml.js";

export interface FmfNode {
  name: string;
  data: Mapping;
  /** The file whose content defined this node last (the most specific one). */
  file: string;
  /** Repository-relative directory of that file (`.` for the root). */
  dir: string;
  children: FmfNode[];
}

export function isFmfRoot(files: readonly string[]): boolean {
  return files.includes(".fmf/version");
}

/** Build the tree and return its leaves (what tmt selects as tests and plans). */
export function fmfLeaves(files: ReadonlyMap<string, string>): FmfNode[] {
  const parsed = new Map<string, Mapping>();
  for (const [path, content] of files) {
    const doc = parseYaml(content, path);
    if (doc !== null && !isMapping(doc)) throw new DiscoveryError(path, "(document)", "an fmf file must be a mapping");
    parsed.set(path, doc ?? {});
  }
  const root: FmfNode = { name: "/", data: {}, file: "", dir: ".", children: [] };
  build(root, ".", parsed);
  const leaves: FmfNode[] = [];
  const walk = (node: FmfNode): void => {
    if (node.children.length === 0) leaves.push(node);
    node.children.forEach(walk);
  };
  walk(root);
  return leaves;
}

function build(node: FmfNode, dir: string, parsed: ReadonlyMap<string, Mapping>): void {
  const main = dir === "." ? "main.fmf" : `${dir}/main.fmf`;
  const own = parsed.get(main);
  if (own) applyData(node, own, main);
  // Sub-directories and other .fmf files in this directory, in a stable order.
  const prefix = dir === "." ? "" : `${dir}/`;
  const subdirs = new Set<string>();
  const leafFiles: string[] = [];
  for (const path of [...parsed.keys()].sort()) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash >= 0) subdirs.add(rest.slice(0, slash));
    else if (rest !== "main.fmf") leafFiles.push(rest);
  }
  for (const sub of [...subdirs].sort()) {
    if (sub.startsWith(".")) continue; // hidden directories (.fmf itself) are not nodes
    const child = childOf(node, sub, `${prefix}${sub}`);
    build(child, `${prefix}${sub}`, parsed);
  }
  for (const leaf of leafFiles) {
    if (leaf.startsWith(".")) continue;
    const path = `${prefix}${leaf}`;
    const child = childOf(node, leaf.replace(/\.fmf$/, ""), dir);
    applyData(child, parsed.get(path) ?? {}, path);
  }
}

function childOf(parent: FmfNode, name: string, dir: string): FmfNode {
  const child: FmfNode = { name: posix.join(parent.name, name), data: { ...parent.data }, file: parent.file, dir, children: [] };
  parent.children.push(child);
  return child;
}

/** Merge a file's (or a `/child` key's) data into a node and create its `/child` nodes. */
function applyData(node: FmfNode, data: Mapping, file: string): void {
  node.file = file;
  node.dir = posix.dirname(file);
  const children: [string, unknown][] = [];
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith("/")) children.push([key, value]);
    else mergeKey(node.data, key, value, file);
  }
  for (const [key, value] of children) {
    if (value !== null && !isMapping(value)) throw new DiscoveryError(file, key, "a child node must be a mapping");
    const child = childOf(node, key.slice(1), node.dir);
    applyData(child, value ?? {}, file);
  }
}

function mergeKey(target: Mapping, key: string, value: unknown, file: string): void {
  if (/[-+<~]$/.test(key) && !key.endsWith("+")) throw new DiscoveryError(file, key, "only the `+` merge suffix is supported");
  if (!key.endsWith("+")) {
    target[key] = value;
    return;
  }
  const name = key.slice(0, -1);
  const current = target[name];
  if (current === undefined) target[name] = value;
  else if (Array.isArray(current) && Array.isArray(value)) target[name] = [...(current as unknown[]), ...(value as unknown[])];
  else if (typeof current === "string" && typeof value === "string") target[name] = current + value;
  else if (isMapping(current) && isMapping(value)) target[name] = { ...current, ...value };
  else throw new DiscoveryError(file, key, "cannot extend a value of a different type");
}
