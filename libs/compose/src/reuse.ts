// Finding a commit that already has an input hash. The ref's head is checked first (the
// usual no-op recompose); older commits are found through a small index kept in the repo's
// `extensions/` directory (ostree leaves that directory to tools), each entry verified
// against the commit's own metadata before it is trusted.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ToolContext } from "@atomic-ci/tools";
import { gvariantString, ostreeHead, ostreeMetadata, ostreeShow, type CommitInfo } from "./tools/ostree.js";

const INDEX_DIR = join("extensions", "atomic-ci", "inputhash");

export interface Found {
  commit: string;
  version: string;
  /** What the compose record needs about the commit, read in the same breath. */
  info: CommitInfo;
}

async function matches(repo: string, commit: string, inputHash: string, ctx: ToolContext): Promise<Found | undefined> {
  // Both questions at once: on a no-op recompose each process start is a good part of the time.
  const [hash, info] = await Promise.all([ostreeMetadata(repo, commit, "rpmostree.inputhash", ctx).then(gvariantString), ostreeShow(repo, commit, ctx)]);
  if (hash !== inputHash) return undefined;
  return { commit, version: info.version ?? "", info };
}

export async function findByInputHash(repo: string, ref: string, inputHash: string, ctx: ToolContext): Promise<Found | undefined> {
  const head = await ostreeHead(repo, ref, ctx);
  const atHead = head ? await matches(repo, head, inputHash, ctx) : undefined;
  if (atHead) return atHead;
  const indexed = await readFile(join(repo, INDEX_DIR, inputHash), "utf8").then((t) => t.trim(), () => undefined);
  if (indexed === undefined || !/^[0-9a-f]{64}$/.test(indexed)) return undefined;
  // A pruned commit makes `ostree show` fail: then it is simply not there any more.
  return matches(repo, indexed, inputHash, ctx).catch(() => undefined);
}

export async function recordInputHash(repo: string, inputHash: string, commit: string): Promise<void> {
  const dir = join(repo, INDEX_DIR);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${inputHash}.${process.pid}`);
  await writeFile(tmp, `${commit}\n`);
  await rename(tmp, join(dir, inputHash));
}
