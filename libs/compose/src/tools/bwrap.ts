// Run a treefile `postprocess` script inside the composed tree, never on the host: bubblewrap
// makes the tree the root, with no network and fresh namespaces; the script runs with the
// tree's own /usr/bin/sh.
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { runTool, safePath, type ToolContext } from "@atomic-ci/tools";

export class NoShellInTreeError extends Error {
  constructor() {
    super("the tree has no /usr/bin/sh to run postprocess scripts with");
    this.name = "NoShellInTreeError";
  }
}

export async function runInTree(tree: string, script: string, ctx: ToolContext): Promise<void> {
  const hasShell = await lstat(join(tree, "usr/bin/sh")).then(() => true, () => false);
  if (!hasShell) throw new NoShellInTreeError();
  const args = ["--bind", safePath(tree), "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all", "--die-with-parent", "--clearenv", "--setenv", "PATH", "/usr/sbin:/usr/bin", "--chdir", "/", "/usr/bin/sh", "-c", script];
  await runTool("bwrap", args, { env: ctx.env, timeoutMs: ctx.timeoutMs ?? 300_000 });
}
