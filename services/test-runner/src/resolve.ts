// Which packages a compose changed, and the dist-git commit each build was made from.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { gitLog, gitShowFile, safeRpmName, type ToolContext } from "@atomic-ci/tools";
import type { ChangeSetQueued, PackageDiff } from "@atomic-ci/messages";

export interface ChangedBuild {
  /** Source package name (a dist-git repository). */
  name: string;
  version: string;
  /** With the dist tag, as in the NVR (`1.fc41`). */
  release: string;
  nvr: string;
}

/** `name-[epoch:]version-release[.arch]` → its parts (arch dropped when `withArch`). */
export function splitNevra(nevra: string, withArch: boolean): { name: string; version: string; release: string } | undefined {
  let rest = nevra;
  if (withArch) {
    const dot = rest.lastIndexOf(".");
    if (dot < 0) return undefined;
    rest = rest.slice(0, dot);
  }
  const parts = rest.split("-");
  if (parts.length < 3) return undefined;
  const release = parts.pop() ?? "";
  const version = (parts.pop() ?? "").replace(/^\d+:/, "");
  return { name: parts.join("-"), version, release };
}

/**
 * The builds a compose brought in. The change set's build members name source packages and
 * NVRs exactly; without them (the change set was not seen), the package diff's added,
 * upgraded and downgraded binary packages whose name is a dist-git repository under
 * `distGitDir` stand for their source package (a subpackage like `ostree-libs` is skipped:
 * its source package is in the diff too when it changed).
 */
export function changedBuilds(pkgdiff: PackageDiff, changeSet: Pick<ChangeSetQueued, "members"> | undefined, distGitDir: string): ChangedBuild[] {
  const out = new Map<string, ChangedBuild>();
  for (const member of changeSet?.members ?? []) {
    if (member.kind !== "build") continue;
    const parts = splitNevra(member.nvr, false);
    if (parts) out.set(member.nvr, { ...parts, name: member.package, nvr: member.nvr });
  }
  if (out.size > 0) return [...out.values()];
  for (const nevra of [...pkgdiff.added, ...pkgdiff.upgraded.map((u) => u.to), ...pkgdiff.downgraded.map((u) => u.to)]) {
    const parts = splitNevra(nevra, true);
    if (!parts || !existsSync(join(distGitDir, parts.name))) continue;
    const nvr = `${parts.name}-${parts.version}-${parts.release}`;
    out.set(nvr, { ...parts, nvr });
  }
  return [...out.values()];
}

function specField(spec: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(\\S+)\\s*$`, "im").exec(spec)?.[1];
}

/** Does a spec's `Release:` (with `%{?dist}` and similar dist macros dropped) give the NVR's release? */
export function releaseMatches(specRelease: string, release: string): boolean {
  const bare = specRelease.replace(/%\{\??dist\}/g, "");
  if (bare.includes("%")) return false;
  return release === bare || release.startsWith(`${bare}.`);
}

/**
 * The dist-git commit a build was made from: the newest commit on `rev` (the branch head by
 * default) whose `<name>.spec` has the build's `Version:` and `Release:`. Koji records it in
 * the build's `source` (`git+https://…#<commit>`), which the pipeline's messages do not carry;
 * the spec is what decides the NVR, so this finds the same commit unless a later commit
 * changed other files without bumping the release (then the later one is taken: the newest
 * state of that release).
 */
export async function buildCommit(repo: string, build: Pick<ChangedBuild, "name" | "version" | "release">, ctx: ToolContext & { rev?: string }): Promise<string | undefined> {
  const spec = `${safeRpmName(build.name)}.spec`;
  for (const entry of await gitLog(repo, { ...ctx, rev: ctx.rev ?? "HEAD" })) {
    let text: string;
    try {
      text = await gitShowFile(repo, entry.commit, spec, ctx);
    } catch {
      continue;
    }
    const version = specField(text, "Version");
    const release = specField(text, "Release");
    if (version === build.version && release !== undefined && releaseMatches(release, build.release)) return entry.commit;
  }
  return undefined;
}
