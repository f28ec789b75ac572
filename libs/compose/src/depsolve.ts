// Depsolve with real dnf and turn what it says into a typed verdict.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { isToolError, queryRpmHeaders, rpmFileDigest, runTool, type ToolContext } from "@atomic-ci/tools";
import type { ComposeFailure, InfrastructureError, ResolvedPackage } from "./result.js";
import { dnfDownload, type DnfDownloadOptions } from "./tools/dnf.js";

export type DepsolveResult = { type: "resolved"; packages: ResolvedPackage[]; kernel?: string } | ComposeFailure | InfrastructureError;

/**
 * Read dnf's complaint. Only messages that are about the requested package set are a
 * compose failure; anything else dnf says when it fails (a repo it cannot read, a full disk)
 * is the machine's problem.
 */
export function classifyDnfFailure(output: string): ComposeFailure | undefined {
  const missing = /nothing provides (.+?) needed by (\S+)/.exec(output);
  if (missing?.[1] !== undefined) {
    return { type: "compose-failure", reason: `depsolve failed: nothing provides ${missing[1]} needed by ${missing[2] ?? "?"}`, missingDependency: missing[1], ...(missing[2] ? { package: missing[2] } : {}) };
  }
  const noMatch = /(?:Unable to find a match|No match for argument):? (.+)/.exec(output);
  if (noMatch?.[1] !== undefined) {
    const what = noMatch[1].trim();
    return { type: "compose-failure", reason: `no repository has ${what} (a locked or requested version that does not exist)`, package: what, missingDependency: what };
  }
  const problem = /Problem[^:]*: (.+(?:\n\s+- .+)*)/.exec(output);
  if (problem?.[1] !== undefined || /conflicting requests/.test(output)) {
    return { type: "compose-failure", reason: `depsolve failed: ${(problem?.[1] ?? "conflicting requests").replace(/\s+/g, " ").trim()}` };
  }
  return undefined;
}

const NO_SPACE = /No space left on device|ENOSPC/;

export async function depsolve(options: DnfDownloadOptions, ctx: ToolContext): Promise<DepsolveResult> {
  let dir: string;
  try {
    dir = await dnfDownload(options, ctx);
  } catch (err) {
    if (!isToolError(err)) throw err;
    const said = `${err.stderr}\n${err.stdout}`;
    const failure = !err.infrastructure && !NO_SPACE.test(said) ? classifyDnfFailure(said) : undefined;
    return failure ?? { type: "infrastructure-error", reason: `dnf: ${err.message}` };
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith(".rpm")).sort().map((f) => join(dir, f));
  const headers = await queryRpmHeaders(files, ctx);
  const packages: ResolvedPackage[] = [];
  for (const h of headers) {
    const evr = `${h.epoch ? `${h.epoch}:` : ""}${h.version}-${h.release}`;
    packages.push({
      name: h.name,
      epoch: h.epoch ?? 0,
      version: h.version,
      release: h.release,
      arch: h.arch,
      nevra: `${h.name}-${evr}.${h.arch}`,
      evra: `${evr}.${h.arch}`,
      digest: await rpmFileDigest(h.path),
      headerSha256: h.sha256Header,
      path: h.path,
    });
  }
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const kernel = await findKernel(files, ctx);
  return kernel === undefined ? { type: "resolved", packages } : { type: "resolved", packages, kernel };
}

/** The kernel version whose `/usr/lib/modules/<kver>/vmlinuz` one of the packages ships (ostree's bootable-tree rule). */
async function findKernel(files: readonly string[], ctx: ToolContext): Promise<string | undefined> {
  if (files.length === 0) return undefined;
  const { stdout } = await runTool("rpm", ["--query", "--package", "--nosignature", "--nodigest", "--queryformat", "[%{FILENAMES}\\n]", "--", ...files], {
    env: { ...ctx.env, LC_ALL: "C" },
    timeoutMs: ctx.timeoutMs ?? 120_000,
    maxOutputBytes: 256 * 1024 * 1024,
  });
  for (const line of stdout.split("\n")) {
    const m = /^\/usr\/lib\/modules\/([^/]+)\/vmlinuz$/.exec(line);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}
