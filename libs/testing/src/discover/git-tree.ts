// Read a repository as it was at one commit — never the working copy, which may be at a newer
// version (dist-git repos in the fixture world are non-bare and sit at their newest commit).
import { gitEnv, gitRevParse, gitShowFile, runTool, safeGitRev, safePath, type ToolContext } from "@atomic-ci/tools";

export interface TreeAtCommit {
  commit: string;
  files: readonly string[];
  read(path: string): Promise<string>;
}

export async function treeAt(repo: string, rev: string, ctx: ToolContext): Promise<TreeAtCommit> {
  const commit = await gitRevParse(repo, rev, ctx);
  const { stdout } = await runTool("git", ["-C", safePath(repo, "repository"), "ls-tree", "-r", "-z", "--name-only", "--end-of-options", safeGitRev(commit)], {
    env: gitEnv(ctx.env),
    timeoutMs: ctx.timeoutMs ?? 60_000,
  });
  const files = stdout.split("\0").filter((f) => f !== "");
  return { commit, files, read: (path) => gitShowFile(repo, commit, path, ctx) };
}
