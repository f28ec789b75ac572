// A local bare mirror of a remote git repository, kept fresh on read. Services that read files
// of the host definition at a branch (`git show <branch>:<path>`: the gatekeeper's policies, the
// publisher's delivery policy, the test-runner's host tests) need a repository on disk; a pod's
// clone made once at start would never see a new commit. The mirror fetches at most every
// `maxAgeMs`, one fetch at a time, and a failed fetch keeps serving the last copy (the remote's
// outage must not stop gating on what is already known): the caller sees `lastError`.
import { access, mkdir, rename, rm } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { safeArg, safePath } from "./argv.js";
import { gitEnv } from "./git.js";
import { ToolError } from "./errors.js";
import { runTool, type ToolContext } from "./run.js";

/** A URL git fetches over the network (https, ssh, git) rather than a local path. */
export function isRemoteGitUrl(repo: string): boolean {
  return /^(https?|ssh|git):\/\//.test(repo) || /^[\w.-]+@[\w.-]+:/.test(repo);
}

export interface GitMirrorOptions {
  /** The remote (https, ssh, git URL). */
  url: string;
  /** Directory the mirrors live in; this one is `<cacheDir>/<host-and-path-slug>-<hash>.git`. */
  cacheDir: string;
  /** A read older than this fetches first. */
  maxAgeMs: number;
  tools: ToolContext;
  /** Default: the system clock (ms). */
  now?: () => number;
}

export class GitMirror {
  readonly dir: string;
  /** When the last fetch that worked ran. */
  private fetchedAt: number | undefined;
  /** No fetch before this (after a success or a failure alike: a remote that is down is not hammered). */
  private nextFetchAt: number | undefined;
  private inFlight: Promise<void> | undefined;
  /** Why the last fetch failed, while the copy served is older than maxAgeMs; undefined once a fetch works. */
  lastError: string | undefined;

  constructor(private readonly options: GitMirrorOptions) {
    const url = safeArg(options.url, "repository URL");
    const slug = url.replace(/^[a-z]+:\/\//, "").replace(/[^A-Za-z0-9._-]+/g, "_").slice(-80);
    const hash = createHash("sha256").update(url).digest("hex").slice(0, 12);
    this.dir = join(safePath(options.cacheDir, "mirror cache"), `${slug}-${hash}.git`);
  }

  /**
   * The mirror's path, fetched when older than maxAgeMs. Throws only when there is no copy at
   * all (the first clone failed); afterwards a failed fetch serves the last copy.
   */
  async path(): Promise<string> {
    const now = (this.options.now ?? Date.now)();
    if (this.nextFetchAt === undefined || now >= this.nextFetchAt) await this.fetchOnce(now);
    return this.dir;
  }

  /**
   * The mirror's path, holding `rev` (a full commit id) if the remote has it: a commit made
   * after the last fetch (the definition commit a change set names, seconds old) is fetched
   * now, whatever maxAgeMs says.
   */
  async pathWith(rev: string): Promise<string> {
    const dir = await this.path();
    if (!/^[0-9a-f]{40}$/.test(rev) || (await this.has(rev))) return dir;
    await this.fetchOnce((this.options.now ?? Date.now)());
    return dir;
  }

  private async has(rev: string): Promise<boolean> {
    const run = runTool("git", ["-C", this.dir, "cat-file", "-e", `${rev}^{commit}`], { env: gitEnv(this.options.tools.env), timeoutMs: 30_000 });
    return run.then(
      () => true,
      () => false,
    );
  }

  private async fetchOnce(now: number): Promise<void> {
    this.inFlight ??= this.refresh(now).finally(() => {
      this.inFlight = undefined;
    });
    await this.inFlight;
  }

  private async refresh(now: number): Promise<void> {
    const ctx = this.options.tools;
    const env = gitEnv(ctx.env);
    const timeoutMs = ctx.timeoutMs ?? 300_000;
    const exists = await isMirror(this.dir);
    try {
      if (exists) {
        await runTool("git", ["-C", this.dir, "fetch", "--quiet", "--prune", "origin"], { env, timeoutMs });
      } else {
        // Cloned beside and renamed into place: a clone killed halfway never looks like a mirror.
        await mkdir(this.options.cacheDir, { recursive: true });
        // Two processes may share the cache (replicas on one volume): each clones on its own, the first rename wins.
        const partial = `${this.dir}.partial-${randomBytes(6).toString("hex")}`;
        try {
          await runTool("git", ["clone", "--quiet", "--mirror", "--", this.options.url, partial], { env, timeoutMs });
          await rename(partial, this.dir).catch(async (err: unknown) => {
            if (!(await isMirror(this.dir))) throw err;
          });
        } finally {
          await rm(partial, { recursive: true, force: true });
        }
      }
      this.fetchedAt = now;
      this.nextFetchAt = now + this.options.maxAgeMs;
      this.lastError = undefined;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (!exists) {
        const stderr = err instanceof ToolError ? err.stderr : "";
        throw new GitMirrorError(`cannot clone ${this.options.url}: ${reason}`, { cause: err, absent: NOT_FOUND.test(stderr) });
      }
      // The last copy stays in use; a read after maxAgeMs tries again.
      this.lastError = `fetch of ${this.options.url} failed, serving the copy fetched ${this.fetchedAt === undefined ? "before this process started" : `at ${new Date(this.fetchedAt).toISOString()}`}: ${reason}`;
      this.nextFetchAt = now + this.options.maxAgeMs;
    }
  }
}

function isMirror(dir: string): Promise<boolean> {
  return access(join(dir, "HEAD")).then(
    () => true,
    () => false,
  );
}

/** What git says when the remote has no such repository (Pagure/GitLab/GitHub over https, a path that is not a repository). */
const NOT_FOUND = /repository '[^']*' not found|Repository not found|does not appear to be a git repository|HTTP (404|410)/i;

export class GitMirrorError extends Error {
  readonly code = "GIT_MIRROR";
  /** The remote said it has no such repository (as opposed to being unreachable). */
  readonly absent: boolean;
  constructor(message: string, options?: { cause?: unknown; absent?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GitMirrorError";
    this.absent = options?.absent ?? false;
  }
}

/**
 * Resolve a configured repository: a local path is used as it is; a remote URL becomes a
 * mirror under `cacheDir` (one per URL, shared by every caller of the returned function).
 */
export function repositoryResolver(repo: string, options: Omit<GitMirrorOptions, "url">): RepositoryResolver {
  if (!isRemoteGitUrl(repo)) return { path: () => Promise.resolve(repo) };
  const mirror = new GitMirror({ ...options, url: repo });
  return { path: (rev) => (rev === undefined ? mirror.path() : mirror.pathWith(rev)), mirror };
}

export interface RepositoryResolver {
  /** A path git can read; with `rev`, one that holds that commit if the remote has it. */
  path(rev?: string): Promise<string>;
  /** Set when the repository is a remote one. */
  mirror?: GitMirror;
}
