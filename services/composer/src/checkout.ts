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
