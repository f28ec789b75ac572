// Is a compose.complete's repository and commit worth building from? Found by the abuse suite: a
// schema-valid message naming a repository or commit that does not exist was retried as an
// infrastructure error until the delivery limit, because a build failure reading the repository
// looks the same whether the message lies or the storage is away. This tells them apart before
// the build: what the message got wrong is `poison` (dead-lettered at once: every delivery would
// give the same answer), only a repository the builder cannot reach is `unreachable` (the
// infrastructure's; retried). docs/images.md, §7 "Which messages are refused".
import { opendir, readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { isToolError, runTool, type ToolContext } from "@atomic-ci/tools";

export type RepoVerdict = { kind: "ok"; path: string } | { kind: "poison"; reason: string } | { kind: "unreachable"; reason: string };

export interface RepoCheckInput {
  /** `repo.location` of the message: a path (relative to the working directory) or a file:// URL. */
  location: string;
  /** 64 hex (the schema's). */
  commit: string;
}

export interface RepoCheckOptions {
  /** Absolute directories the repository must be in (or be); empty: anywhere. */
  roots: readonly string[];
  tools: ToolContext;
}

/** What a reason repeats from the message: a hostile 1 MiB location must not become a 1 MiB header. */
const SHOWN_MAX = 200;
const shown = (text: string) => JSON.stringify(text.length <= SHOWN_MAX ? text : `${text.slice(0, SHOWN_MAX)}…`);

/** How long one ostree call of the check may take (a hung NFS mount is the infrastructure's). */
const OSTREE_TIMEOUT_MS = 60_000;

/** The errno code of a file-system error ("" for anything else). */
const errno = (err: unknown): string => (err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : "");

const within = (path: string, root: string) => {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

function localPath(location: string): string | undefined {
  // No file system takes a NUL in a path (Node refuses it before asking).
  if (location.includes("\0")) return undefined;
  if (location.startsWith("file:")) {
    try {
      return fileURLToPath(location);
    } catch {
      return undefined;
    }
  }
  // Any other scheme: `ostree pull-local` takes a local repository only.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return undefined;
  return resolve(location);
}

async function ostree(args: string[], tools: ToolContext): Promise<{ ok: true } | { ok: false; why: string; broken: boolean }> {
  try {
    await runTool("ostree", args, { env: tools.env, timeoutMs: tools.timeoutMs ?? OSTREE_TIMEOUT_MS, maxOutputBytes: 1024 * 1024 });
    return { ok: true };
  } catch (err) {
    const why = isToolError(err) ? err.stderr.trim() || err.message : err instanceof Error ? err.message : String(err);
    // Timed out, killed, or ostree missing: says nothing about the repository.
    return { ok: false, why: why.trim().split("\n").slice(-2).join(" ").slice(0, 500), broken: !isToolError(err) || err.infrastructure };
  }
}

/**
 * Judge the repository and commit a compose.complete names:
 *
 * - **poison**: not a local path; outside `roots` (also through a symlink); a path through a
 *   file or to a file; a directory with content that is no OSTree repository (no `config`, or a
 *   `config` without `[core]`); a healthy repository (`ostree refs` works on it) without the commit.
 * - **unreachable**: the path does not exist, or is an empty directory (an unmounted mount point
 *   looks like that), or the file system fails (EACCES, EIO, ESTALE, …), or ostree cannot open
 *   the repository or times out.
 * - **ok**: the commit object is there (or ostree finds it, e.g. through a parent repository).
 */
export async function checkComposeRepo(input: RepoCheckInput, options: RepoCheckOptions): Promise<RepoVerdict> {
  const path = localPath(input.location);
  if (path === undefined) return { kind: "poison", reason: `repo.location ${shown(input.location)} is not a local path (the image-builder pulls from a local OSTree repository)` };
  const outside = `repo.location ${shown(input.location)} is outside imageBuilder.repoRoots`;
  if (options.roots.length > 0 && !options.roots.some((root) => within(path, root))) return { kind: "poison", reason: outside };

  let dir: Awaited<ReturnType<typeof stat>>;
  try {
    dir = await stat(path);
  } catch (err) {
    const code = errno(err);
    // A path through a regular file (/etc/passwd/x): no storage outage looks like that.
    if (code === "ENOTDIR" || code === "ENAMETOOLONG" || code === "ELOOP") return { kind: "poison", reason: `repo.location ${shown(input.location)}: ${code}` };
    return { kind: "unreachable", reason: `repository ${shown(path)} cannot be reached (${code || String(err)}): storage not mounted?` };
  }
  if (!dir.isDirectory()) return { kind: "poison", reason: `repo.location ${shown(input.location)} is not a directory` };

  if (options.roots.length > 0) {
    // Symlinks are followed: a link inside a root pointing out of it is outside.
    let real: string;
    let roots: string[];
    try {
      real = await realpath(path);
      roots = await Promise.all(options.roots.map((root) => realpath(root).catch(() => root)));
    } catch (err) {
      return { kind: "unreachable", reason: `repository ${shown(path)}: ${errno(err) || String(err)}` };
    }
    if (!roots.some((root) => within(real, root))) return { kind: "poison", reason: `${outside} (through a symlink)` };
  }

  let empty: boolean;
  try {
    // One entry is enough (a hostile location may name a huge directory).
    const handle = await opendir(path);
    empty = (await handle.read()) === null;
    await handle.close();
  } catch (err) {
    return { kind: "unreachable", reason: `repository ${shown(path)} cannot be read (${errno(err) || String(err)})` };
  }
  if (empty) return { kind: "unreachable", reason: `repository ${shown(path)} is an empty directory: storage not mounted?` };
  let config: string;
  const notRepo = `repo.location ${shown(input.location)} is not an OSTree repository`;
  try {
    // A regular file only: reading a FIFO or a device named `config` would hang or never end.
    const info = await stat(join(path, "config"));
    if (!info.isFile() || info.size > 1024 * 1024) return { kind: "poison", reason: `${notRepo} (its config is not a small regular file)` };
    config = await readFile(join(path, "config"), "utf8");
  } catch (err) {
    const code = errno(err);
    if (code === "ENOENT" || code === "ENOTDIR") return { kind: "poison", reason: `${notRepo} (no config file)` };
    return { kind: "unreachable", reason: `repository ${shown(path)}: its config cannot be read (${code || String(err)})` };
  }
  if (!/^\s*\[core\]/m.test(config)) return { kind: "poison", reason: `${notRepo} (its config has no [core] section)` };

  // Commit objects have the same name in every repository mode.
  const object = join(path, "objects", input.commit.slice(0, 2), `${input.commit.slice(2)}.commit`);
  const found = await stat(object).then(
    () => true,
    (err: unknown) => (errno(err) === "ENOENT" || errno(err) === "ENOTDIR" ? false : err),
  );
  if (found === true) return { kind: "ok", path };
  if (found !== false) return { kind: "unreachable", reason: `repository ${shown(path)}: reading the commit object failed (${errno(found) || String(found)})` };
  // Not among its own objects: ostree also looks in a parent repository (core.parent).
  const show = await ostree(["show", `--repo=${path}`, input.commit], options.tools);
  if (show.ok) return { kind: "ok", path };
  if (show.broken) return { kind: "unreachable", reason: `repository ${shown(path)}: ostree show ${input.commit} did not run to its end: ${show.why}` };
  // Absent. Poison only when the repository itself is healthy: ostree opens it and lists its refs.
  const refs = await ostree(["refs", `--repo=${path}`], options.tools);
  if (!refs.ok) return { kind: "unreachable", reason: `repository ${shown(path)} cannot be opened by ostree: ${refs.why}` };
  return { kind: "poison", reason: `commit ${input.commit} is not in the OSTree repository ${shown(path)} (its refs are readable)` };
}
