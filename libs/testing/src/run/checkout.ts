// Composed trees to run tests in: `ostree checkout --user-mode` of a commit, made once per
// commit and shared by every test of that compose (the sandbox binds it read-only).
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runTool, safeArg, safePath, type ToolContext } from "@atomic-ci/tools";

export class TreeCache {
  private readonly pending = new Map<string, Promise<{ commit: string; tree: string }>>();

  constructor(
    readonly repo: string,
    readonly dir: string,
    private readonly ctx: ToolContext,
  ) {}

  /** The checkout of `rev` (a commit id or ref), resolved to its commit id. Throws when ostree fails. */
  async checkout(rev: string): Promise<{ commit: string; tree: string }> {
    const commit = await this.revParse(rev);
    let entry = this.pending.get(commit);
    if (!entry) {
      entry = this.make(commit);
      // A failed checkout must not be cached: the next attempt (an error retry) tries again.
      entry.catch(() => this.pending.delete(commit));
      this.pending.set(commit, entry);
    }
    return entry;
  }

  private async revParse(rev: string): Promise<string> {
    const { stdout } = await runTool("ostree", ["rev-parse", `--repo=${safePath(this.repo, "repo")}`, safeArg(rev, "commit")], this.options());
    return stdout.trim();
  }

  private async make(commit: string): Promise<{ commit: string; tree: string }> {
    const tree = join(this.dir, commit);
    if (existsSync(tree)) return { commit, tree };
    await mkdir(this.dir, { recursive: true });
    // Check out beside the final name and rename: a crash never leaves a half tree that looks done.
    const partial = join(this.dir, `.partial-${commit}-${randomBytes(4).toString("hex")}`);
    try {
      await runTool("ostree", ["checkout", "--user-mode", `--repo=${safePath(this.repo, "repo")}`, commit, partial], this.options());
      await rename(partial, tree);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
    return { commit, tree };
  }

  private options() {
    return { env: this.ctx.env, timeoutMs: this.ctx.timeoutMs ?? 300_000 };
  }
}
