// Thin wrappers around the ostree CLI (Debian's 2022.7). Every call passes an argument vector;
// refs and checksums are checked before they reach it.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runTool, safePath, UnsafeArgumentError, type ToolContext } from "@atomic-ci/tools";

// ostree's ref syntax: components of letters, digits, `_`, `-`, `.`, not starting with `-` or `.`.
const REF = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
const CHECKSUM = /^[0-9a-f]{64}$/;

export function safeRef(value: string): string {
  if (!REF.test(value) || value.length > 400) throw new UnsafeArgumentError("ostree ref", value, "is not a valid ostree ref");
  return value;
}

export function safeChecksum(value: string): string {
  if (!CHECKSUM.test(value)) throw new UnsafeArgumentError("ostree commit", value, "is not a 64-hex commit checksum");
  return value;
}

function run(repo: string, args: readonly string[], ctx: ToolContext, ok?: readonly number[]) {
  // The subcommand first, then --repo: everything after a `--` would be read as an operand.
  const [subcommand = "", ...rest] = args;
  return runTool("ostree", [subcommand, `--repo=${safePath(repo, "ostree repository")}`, ...rest], {
    env: { ...ctx.env, LC_ALL: "C" },
    timeoutMs: ctx.timeoutMs ?? 600_000,
    ...(ok ? { okExitCodes: ok } : {}),
  });
}

export async function ostreeInit(repo: string, mode: "archive" | "bare-user", ctx: ToolContext): Promise<void> {
  await run(repo, ["init", `--mode=${mode}`], ctx);
}

/** The commit a ref points at, or undefined when there is no such ref. */
export async function ostreeRevParse(repo: string, ref: string, ctx: ToolContext): Promise<string | undefined> {
  const { code, stdout } = await run(repo, ["rev-parse", "--", safeRef(ref)], ctx, [0, 1]);
  const rev = stdout.trim();
  return code === 0 && CHECKSUM.test(rev) ? rev : undefined;
}

/** All refs, optionally under a prefix (`atomic-ci/pkgcache`), without the prefix stripped. */
export async function ostreeRefs(repo: string, prefix: string | undefined, ctx: ToolContext): Promise<string[]> {
  const args = prefix === undefined ? ["refs"] : ["refs", "--", safeRef(prefix)];
  const { stdout } = await run(repo, args, ctx, [0, 1]);
  const refs = stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  // `ostree refs PREFIX` prints the remainder after the prefix.
  return prefix === undefined ? refs : refs.map((r) => `${prefix}/${r}`);
}

/** One metadata value of a commit in GVariant text, or undefined when the key is absent. */
export async function ostreeMetadata(repo: string, commit: string, key: string, ctx: ToolContext): Promise<string | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new UnsafeArgumentError("metadata key", key, "is not a metadata key");
  const { code, stdout } = await run(repo, ["show", `--print-metadata-key=${key}`, "--", safeChecksum(commit)], ctx, [0, 1]);
  return code === 0 ? stdout.trim() : undefined;
}

/** A GVariant string as `ostree show` prints it (`'41.2024.0'`) → the string. */
export function gvariantString(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  // GLib quotes with ' unless the string holds one, then with ".
  const m = /^'((?:[^'\\]|\\.)*)'$/.exec(text) ?? /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  return m?.[1]?.replace(/\\(.)/g, "$1");
}

export interface CommitOptions {
  repo: string;
  /** Omitted: an orphan commit (no ref written). */
  branch?: string;
  parent?: string;
  trees: readonly ({ dir: string } | { ref: string })[];
  subject?: string;
  stringMetadata?: Readonly<Record<string, string>>;
  /** Values in GVariant text format. */
  metadata?: Readonly<Record<string, string>>;
  skipList?: string;
  /** Cache imports may skip fsync: a lost one is re-imported (its ref is written last). */
  fsync?: boolean;
}

/** `ostree commit`, every file owned by root (rpm-ostree does the same; users come from sysusers). */
export async function ostreeCommit(options: CommitOptions, ctx: ToolContext): Promise<string> {
  const args = ["commit", "--no-bindings"];
  // Ownership and xattrs only matter for directories: cached package commits already have
  // them, and a modifier makes ostree walk every file of every `--tree=ref`.
  if (options.trees.some((t) => "dir" in t)) args.push("--owner-uid=0", "--owner-gid=0", "--no-xattrs");
  args.push(options.branch === undefined ? "--orphan" : `--branch=${safeRef(options.branch)}`);
  if (options.parent !== undefined) args.push(`--parent=${safeChecksum(options.parent)}`);
  if (options.fsync === false) args.push("--fsync=false");
  args.push(`--subject=${options.subject ?? "atomic-ci compose"}`);
  for (const tree of options.trees) {
    args.push("dir" in tree ? `--tree=dir=${safePath(tree.dir)}` : `--tree=ref=${safeRef(tree.ref)}`);
  }
  if (options.skipList !== undefined) args.push(`--skip-list=${safePath(options.skipList)}`);
  for (const [key, value] of Object.entries(options.stringMetadata ?? {})) args.push(`--add-metadata-string=${metaKey(key)}=${value}`);
  for (const [key, value] of Object.entries(options.metadata ?? {})) args.push(`--add-metadata=${metaKey(key)}=${value}`);
  const { stdout } = await run(options.repo, args, ctx);
  return safeChecksum(stdout.trim());
}

export async function ostreeFsck(repo: string, ctx: ToolContext): Promise<string> {
  const { stdout } = await run(repo, ["fsck"], ctx);
  return stdout;
}

/** Paths of files below `path` in a commit (`ostree ls -R`), with their type letter. */
export async function ostreeLs(repo: string, rev: string, path: string, ctx: ToolContext): Promise<{ type: string; path: string }[]> {
  const { code, stdout } = await run(repo, ["ls", "-R", "--", rev.length === 64 ? safeChecksum(rev) : safeRef(rev), safePath(path)], ctx, [0, 1]);
  if (code !== 0) return [];
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const m = /^(\S)\S*\s+\d+\s+\d+\s+\d+\s+(\S.*?)(?: -> .*)?$/.exec(l);
      return { type: m?.[1] ?? "?", path: m?.[2] ?? "" };
    });
}

function metaKey(key: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new UnsafeArgumentError("metadata key", key, "is not a metadata key");
  return key;
}

/** GVariant text for a string: single-quoted with `\` and `'` escaped. */
export function gvString(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters would need \u escapes; refuse them
  if (/[\u0000-\u001f]/.test(value)) throw new UnsafeArgumentError("metadata value", value, "contains a control character");
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

export interface CommitInfo {
  contentChecksum: string;
  /** Unix seconds. */
  timestamp: number;
  /** The commit's `version` metadata, when it has one. */
  version?: string;
}

/** The content checksum, date and version `ostree show` prints for a commit. */
export async function ostreeShow(repo: string, commit: string, ctx: ToolContext): Promise<CommitInfo> {
  const { stdout } = await run(repo, ["show", "--", safeChecksum(commit)], ctx);
  const content = /^ContentChecksum:\s+([0-9a-f]{64})$/m.exec(stdout)?.[1] ?? "";
  const date = /^Date:\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) \+0000$/m.exec(stdout);
  // ostree prints the `version` string as it is (no quoting) on its own line.
  const version = /^Version: (.*)$/m.exec(stdout)?.[1];
  return { contentChecksum: content, timestamp: date ? Date.parse(`${date[1] ?? ""}T${date[2] ?? ""}Z`) / 1000 : 0, ...(version !== undefined ? { version } : {}) };
}

/**
 * The commit a local branch points at, read from `refs/heads/` (ostree's documented repository
 * layout: one file per ref holding the checksum) without starting a process; anything else
 * (no such file, a remote ref) goes through `ostree rev-parse`.
 */
export async function ostreeHead(repo: string, ref: string, ctx: ToolContext): Promise<string | undefined> {
  const text = await readFile(join(repo, "refs", "heads", safeRef(ref)), "utf8").catch(() => undefined);
  const rev = text?.trim();
  if (rev !== undefined && CHECKSUM.test(rev)) return rev;
  return ostreeRevParse(repo, ref, ctx);
}
