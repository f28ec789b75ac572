// rollback: withdraw the current release of a stream. The public ref moves back to an earlier
// release's commit (signed summary), the stream metadata points at that release again, and
// every withdrawn release is marked a dead-end in updates/<stream>.json so clients do not
// update to it. releases.json keeps the withdrawn releases (history is not rewritten).
import { join } from "node:path";
import type { ToolContext } from "@atomic-ci/tools";
import { lockDir, readJson } from "./files.js";
import { lastModified, layout, ReleaseJson, ReleasesIndex, UpdatesJson } from "./metadata.js";
import { setUpdate, singleBinding, writeStreamMetadata } from "./promote.js";
import { ostree, revParse, type GpgKey } from "./tools.js";

export interface RollbackOptions {
  publicRepo: string;
  publicDir: string;
  stream: string;
  /** The release to go back to; default the newest release before the current one that is not a dead-end. */
  to?: string;
  /** The public ref; default the newest release's commit's single ref binding (required when it has none). */
  ref?: string;
  arch?: string;
  gpg: GpgKey;
  /** Recorded as `deadend.reason`. */
  reason?: string;
  now?: Date;
  stateDir?: string;
  lockTimeoutMs?: number;
}

export interface RollbackResult {
  /** `already-there`: the ref already pointed at the target; nothing changed. */
  type: "rolled-back" | "already-there";
  stream: string;
  ref: string;
  /** The release the ref points at now. */
  version: string;
  commit: string;
  /** Releases marked as dead-ends by this call. */
  withdrawn: string[];
}

export async function rollback(options: RollbackOptions, ctx: ToolContext): Promise<RollbackResult> {
  const { publicDir, publicRepo, stream, gpg } = options;
  const arch = options.arch ?? "x86_64";
  const now = options.now ?? new Date();
  const unlock = await lockDir(join(options.stateDir ?? join(publicDir, ".atomic-ci"), "publish.lock"), { timeoutMs: options.lockTimeoutMs });
  try {
    const index = await readJson(join(publicDir, layout.releases(stream)), ReleasesIndex);
    if (!index || index.releases.length === 0) throw new Error(`rollback: stream ${stream} has no releases`);
    const commitOf = (i: number) => index.releases[i]?.commits.find((c) => c.architecture === arch)?.checksum;
    const updates = await readJson(join(publicDir, layout.updates(stream)), UpdatesJson);
    const deadends = new Set(updates?.releases.filter((r) => r.metadata.deadend).map((r) => r.version));

    const lastCommit = commitOf(index.releases.length - 1);
    if (lastCommit === undefined) throw new Error(`rollback: the newest ${stream} release has no ${arch} commit`);
    const ref = options.ref ?? (await singleBinding(ctx, publicRepo, lastCommit, "rollback"));
    const current = await revParse(ctx, publicRepo, ref);
    let currentAt = -1;
    for (let i = index.releases.length - 1; i >= 0; i--) if (commitOf(i) === current) { currentAt = i; break; }
    if (currentAt < 0) throw new Error(`rollback: ${ref} points at ${current ?? "nothing"}, which is no ${stream} release`);

    let targetAt: number;
    if (options.to !== undefined) {
      targetAt = index.releases.findIndex((r) => r.version === options.to);
      if (targetAt < 0) throw new Error(`rollback: ${stream} has no release ${options.to}`);
      if (deadends.has(options.to)) throw new Error(`rollback: ${stream} ${options.to} is a dead-end`);
      if (targetAt > currentAt) throw new Error(`rollback: ${options.to} is newer than the current release; promote instead`);
    } else {
      targetAt = -1;
      for (let i = currentAt - 1; i >= 0; i--) {
        const v = index.releases[i]?.version;
        if (v !== undefined && !deadends.has(v)) { targetAt = i; break; }
      }
      if (targetAt < 0) throw new Error(`rollback: ${stream} has no release before ${index.releases[currentAt]?.version ?? "?"} to go back to`);
    }
    const target = index.releases[targetAt];
    const targetCommit = commitOf(targetAt);
    if (!target || targetCommit === undefined) throw new Error(`rollback: release ${options.to ?? "?"} has no ${arch} commit`);
    if (targetAt === currentAt) return { type: "already-there", stream, ref, version: target.version, commit: targetCommit, withdrawn: [] };

    await ostree(ctx, publicRepo, "refs", `--create=${ref}`, "--force", targetCommit);
    await ostree(ctx, publicRepo, "summary", "-u", `--gpg-sign=${gpg.keyId}`, `--gpg-homedir=${gpg.homedir}`);

    const modified = lastModified(now);
    const release = await readJson(join(publicDir, layout.release(stream, target.version)), ReleaseJson);
    await writeStreamMetadata(publicDir, stream, arch, target.version, release?.architectures[arch]?.media ?? {}, modified);
    const withdrawn = index.releases.slice(targetAt + 1, currentAt + 1).map((r) => r.version).filter((v) => !deadends.has(v));
    const reason = options.reason ?? `withdrawn: ${stream} rolled back to ${target.version}`;
    for (const version of withdrawn) await setUpdate(publicDir, stream, version, { deadend: { reason } }, modified);
    return { type: "rolled-back", stream, ref, version: target.version, commit: targetCommit, withdrawn };
  } finally {
    await unlock();
  }
}
