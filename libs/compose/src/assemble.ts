// Build the tree from the package cache and commit it. Without postprocess scripts, the
// tree is never materialised: `ostree commit --tree=ref=A --tree=ref=B ...` overlays the
// cached package commits (objects already in the repo are only referenced, not rewritten),
// a small directory with the add-files goes on top, and remove-files becomes ostree's
// --skip-list. With postprocess scripts the union is checked out, the scripts run in it under
// bubblewrap, and the result is committed.
import { copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { runTool, type ToolContext } from "@atomic-ci/tools";
import type { Treefile } from "@atomic-ci/host-definition";
import { moveEtc, pkgcacheRef } from "./pkgcache.js";
import type { ResolvedPackage } from "./result.js";
import { runInTree } from "./tools/bwrap.js";
import { ostreeCommit } from "./tools/ostree.js";

export interface AssembleOptions {
  repo: string;
  workDir: string;
  treefile: Treefile;
  packages: readonly ResolvedPackage[];
  branch: string;
  parent?: string;
  subject: string;
  stringMetadata: Record<string, string>;
  metadata: Record<string, string>;
}

/**
 * Order of the overlay: by name, with `filesystem` last, because a package that ships files
 * under a directory without owning it gets that directory with default modes from cpio, and
 * `filesystem`'s own modes (/root 0550, /tmp 1777) must win.
 */
export function overlayOrder(packages: readonly ResolvedPackage[]): ResolvedPackage[] {
  const rank = (p: ResolvedPackage): number => (p.name === "filesystem" ? 1 : 0);
  return [...packages].sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `/etc/x` → `usr/etc/x` (see moveEtc), `/usr/x` → `usr/x`. */
export function treePath(dest: string): string {
  const rel = dest.replace(/^\/+/, "");
  return rel === "etc" || rel.startsWith("etc/") ? `usr/${rel}` : rel;
}

export async function assembleAndCommit(options: AssembleOptions, ctx: ToolContext): Promise<string> {
  const { repo, workDir, treefile } = options;
  const packageTrees = overlayOrder(options.packages).map((p) => ({ ref: pkgcacheRef(p) }));
  const overlay = join(workDir, "overlay");
  await mkdir(overlay, { recursive: true });
  for (const file of treefile.addFiles) {
    const target = join(overlay, treePath(file.dest));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(file.sourcePath, target);
  }
  let skipList: string | undefined;
  if (treefile.removeFiles.length > 0) {
    skipList = join(workDir, "remove-files");
    await writeFile(skipList, treefile.removeFiles.map((f) => `/${treePath(f)}\n`).join(""));
  }
  const trees = treefile.addFiles.length > 0 ? [...packageTrees, { dir: overlay }] : packageTrees;
  const final = { repo, branch: options.branch, subject: options.subject, stringMetadata: options.stringMetadata, metadata: options.metadata, ...(options.parent ? { parent: options.parent } : {}) };
  const skip = skipList === undefined ? {} : { skipList };
  if (treefile.postprocess.length === 0) return ostreeCommit({ ...final, trees, ...skip }, ctx);

  const union = await ostreeCommit({ repo, trees, ...skip, subject: "atomic-ci: tree before postprocess", fsync: false }, ctx);
  const tree = join(workDir, "tree");
  await runTool("ostree", ["checkout", "--user-mode", `--repo=${repo}`, "--", union, tree], { env: ctx.env, timeoutMs: ctx.timeoutMs ?? 600_000 });
  // Scripts expect /etc where it normally is; it goes back to /usr/etc after them.
  await rename(join(tree, "usr/etc"), join(tree, "etc")).catch(() => undefined);
  for (const script of treefile.postprocess) await runInTree(tree, script, ctx);
  await moveEtc(tree);
  const commit = await ostreeCommit({ ...final, trees: [{ dir: tree }] }, ctx);
  await rm(tree, { recursive: true, force: true });
  return commit;
}
