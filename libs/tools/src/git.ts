import { mkdir } from "node:fs/promises";
import { safeArg, safeGitRev, safePath, safeRepoPath } from "./argv.js";
import { runTool, type RunToolResult, type ToolContext, type ToolEnv } from "./run.js";

/** A person and a moment, as git records them for author and committer. */
export interface GitSignature {
  name: string;
  email: string;
  /** Fixed dates make the commit id a function of the content: the same history twice gives the same ids. */
  date: Date;
}

export interface GitLogEntry {
  commit: string;
  parents: string[];
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  subject: string;
  /** The full message (subject, blank line, body, trailers). */
  message: string;
}

export interface GitFileStat {
  path: string;
  /** null for binary files (git prints `-`). */
  additions: number | null;
  deletions: number | null;
}

/**
 * The environment git runs with: the caller's (for PATH) minus anything from the user's or the
 * system's git configuration, so hooks, signing, templates or a default branch set on this
 * machine cannot change what gets recorded.
 */
export function gitEnv(env: ToolEnv): Record<string, string | undefined> {
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_OPTIONAL_LOCKS: "0",
    LC_ALL: "C",
  };
}

function git(dir: string, args: string[], ctx: ToolContext, extra?: { input?: string; env?: Record<string, string> }): Promise<RunToolResult> {
  return runTool("git", ["-C", safePath(dir, "repository"), ...args], {
    env: { ...gitEnv(ctx.env), ...extra?.env },
    timeoutMs: ctx.timeoutMs ?? 60_000,
    ...(extra?.input === undefined ? {} : { input: extra.input }),
  });
}

export async function gitInit(dir: string, options: ToolContext & { branch: string; bare?: boolean }): Promise<void> {
  await mkdir(dir, { recursive: true });
  // No template: the sample hooks would be copied into every repository, and nothing uses them.
  const args = ["init", "--quiet", "--template=", `--initial-branch=${safeGitRev(options.branch, "branch")}`];
  if (options.bare) args.push("--bare");
  await git(dir, args, options);
}

/** Stage paths (default: everything, including deletions). */
export async function gitAdd(dir: string, ctx: ToolContext, paths: readonly string[] = ["."]): Promise<void> {
  await git(dir, ["add", "--all", "--", ...paths.map((p) => (p === "." ? p : safeRepoPath(p)))], ctx);
}

export interface GitCommitOptions extends ToolContext {
  message: string;
  author: GitSignature;
  /** Default: the author. */
  committer?: GitSignature;
  allowEmpty?: boolean;
}

/** Commit what is staged; returns the new commit id. Hooks and signing are off (see gitEnv). */
export async function gitCommit(dir: string, options: GitCommitOptions): Promise<string> {
  const committer = options.committer ?? options.author;
  const args = ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--cleanup=verbatim", "--file=-"];
  if (options.allowEmpty) args.push("--allow-empty");
  await git(dir, args, options, {
    input: options.message,
    env: {
      GIT_AUTHOR_NAME: signatureText(options.author.name),
      GIT_AUTHOR_EMAIL: signatureText(options.author.email),
      GIT_AUTHOR_DATE: gitDate(options.author.date),
      GIT_COMMITTER_NAME: signatureText(committer.name),
      GIT_COMMITTER_EMAIL: signatureText(committer.email),
      GIT_COMMITTER_DATE: gitDate(committer.date),
    },
  });
  return gitRevParse(dir, "HEAD", options);
}

/** The commit id a revision names (`rev^{commit}`), or a ToolError if it names none. */
export async function gitRevParse(dir: string, rev: string, ctx: ToolContext): Promise<string> {
  const { stdout } = await git(dir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${safeGitRev(rev)}^{commit}`], ctx);
  return stdout.trim();
}

/** A file's content at a revision (`git show REV:PATH`). */
export async function gitShowFile(dir: string, rev: string, path: string, ctx: ToolContext): Promise<string> {
  const { stdout } = await git(dir, ["show", "--no-textconv", `${safeGitRev(rev)}:${safeRepoPath(path)}`], ctx);
  return stdout;
}

const FIELD = "\u001f";
const RECORD = "\u001e";

/** History from `rev` back, newest first. */
export async function gitLog(dir: string, ctx: ToolContext & { rev?: string; maxCount?: number }): Promise<GitLogEntry[]> {
  const format = ["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%s", "%B"].join("%x1f") + "%x1e";
  const args = ["log", `--format=${format}`];
  if (ctx.maxCount !== undefined) args.push(`--max-count=${ctx.maxCount}`);
  args.push("--end-of-options", safeGitRev(ctx.rev ?? "HEAD"));
  const { stdout } = await git(dir, args, ctx);
  return stdout
    .split(RECORD)
    .map((record) => record.replace(/^\n/, ""))
    .filter((record) => record.length > 0)
    .map((record) => {
      const [commit = "", parents = "", an = "", ae = "", ad = "", cn = "", ce = "", cd = "", subject = "", message = ""] =
        record.split(FIELD);
      return {
        commit,
        parents: parents ? parents.split(" ") : [],
        author: { name: an, email: ae, date: ad },
        committer: { name: cn, email: ce, date: cd },
        subject,
        message,
      };
    });
}

/** Files a commit touched with line counts (against its first parent; a root commit against nothing). */
export async function gitCommitFiles(dir: string, rev: string, ctx: ToolContext): Promise<GitFileStat[]> {
  const { stdout } = await git(dir, ["show", "--format=", "--numstat", "--no-renames", "-z", "--end-of-options", safeGitRev(rev)], ctx);
  // With -z each entry is "added\tdeleted\tpath\0".
  return stdout
    .split("\0")
    .filter((entry) => entry.trim().length > 0)
    .map((entry) => {
      const [added = "-", deleted = "-", ...rest] = entry.replace(/^\n/, "").split("\t");
      return {
        path: rest.join("\t"),
        additions: added === "-" ? null : Number(added),
        deletions: deleted === "-" ? null : Number(deleted),
      };
    });
}

/** The commit's diff as `git show` prints it (no header), for messages that carry a patch. */
export async function gitPatch(dir: string, rev: string, ctx: ToolContext): Promise<string> {
  const { stdout } = await git(dir, ["show", "--format=", "--patch", "--no-color", "--no-ext-diff", "--end-of-options", safeGitRev(rev)], ctx);
  return stdout;
}

/** Git's internal date format: seconds since the epoch and a zone. */
export function gitDate(date: Date): string {
  const seconds = Math.floor(date.getTime() / 1000);
  if (!Number.isFinite(seconds)) throw new RangeError("invalid commit date");
  return `@${seconds} +0000`;
}

function signatureText(value: string): string {
  // git strips these itself, but a '<' or '>' in a name would corrupt the signature line.
  safeArg(value.replace(/^-+/, "x"), "signature");
  if (/[<>]/.test(value)) throw new RangeError(`signature ${JSON.stringify(value)} contains '<' or '>'`);
  return value;
}
