// A private checkout of the host definition for one compose, made with git alone (no shell):
// a clone (sharing the objects of a local repository, so it costs a few milliseconds) with
// the wanted commit checked out detached. The compose then reads plain files.
import { gitEnv, gitRevParse, runTool, safeArg, safeGitRev, safePath, type ToolContext } from "@atomic-ci/tools";

export interface CheckoutRequest {
  /** A local path or a URL git can clone. */
  repo: string;
  branch: string;
  /** A definition commit to compose; absent: the branch head. */
  rev?: string;
  /** A directory that does not exist yet. */
  dest: string;
}

function isUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo);
}

async function git(args: string[], ctx: ToolContext): Promise<void> {
  await runTool("git", args, { env: gitEnv(ctx.env), timeoutMs: ctx.timeoutMs ?? 120_000 });
}

/** Clone and check out; resolves to the commit checked out. */
export async function checkoutDefinition(request: CheckoutRequest, ctx: ToolContext): Promise<string> {
  const branch = safeGitRev(request.branch, "branch");
  const source = safeArg(request.repo, "definition repository");
  // --shared borrows a local repository's objects instead of copying them; URLs get a normal clone.
  const clone = ["clone", "--quiet", "--no-checkout", ...(isUrl(source) ? [] : ["--shared"]), "--", source, safePath(request.dest)];
  await git(clone, ctx);
  const rev = request.rev !== undefined ? await gitRevParse(request.dest, safeGitRev(request.rev, "definition rev"), ctx) : await gitRevParse(request.dest, `refs/remotes/origin/${branch}`, ctx);
  await git(["-C", request.dest, "checkout", "--quiet", "--detach", rev], ctx);
  return rev;
}

export interface RevCheckoutRequest {
  /** A local path or a URL git can clone. */
  repo: string;
  /** The commit to check out (40 hex). */
  rev: string;
  /** A directory that does not exist yet. */
  dest: string;
}

/**
 * Check out one commit of a repository, detached: a dist-git commit or a pull request's head.
 * A pull request's head need not be on any branch: a local repository's objects are all
 * reachable through `--shared`; for a URL, Pagure's `refs/pull/<n>/head` are fetched when the
 * commit is not among the branches' history.
 */
export async function checkoutRev(request: RevCheckoutRequest, ctx: ToolContext): Promise<string> {
  const source = safeArg(request.repo, "repository");
  const rev = safeGitRev(request.rev, "revision");
  await git(["clone", "--quiet", "--no-checkout", ...(isUrl(source) ? [] : ["--shared"]), "--", source, safePath(request.dest)], ctx);
  let commit = await gitRevParse(request.dest, rev, ctx).catch(() => undefined);
  if (commit === undefined) {
    await git(["-C", request.dest, "fetch", "--quiet", "origin", "+refs/pull/*/head:refs/remotes/origin/pull/*"], ctx);
    commit = await gitRevParse(request.dest, rev, ctx);
  }
  await git(["-C", request.dest, "checkout", "--quiet", "--detach", commit], ctx);
  return commit;
}
