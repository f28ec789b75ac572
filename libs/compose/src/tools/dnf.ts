// dnf as the depsolver: `dnf install --downloadonly --destdir` into an empty installroot. That
// runs dnf's real solver (libsolv) over the given repositories and hands back exactly the RPM
// files of the resolved transaction, whose headers we then read with `rpm -qp`. Nothing is
// installed and no scriptlet runs, so no root tricks are needed.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runTool, safeArg, safePath, UnsafeArgumentError, type ToolContext } from "@atomic-ci/tools";

export interface DnfRepo {
  id: string;
  /** file://, http:// or https:// */
  url: string;
  /** When set, only these NEVRAs of the repo are visible (dnf `includepkgs`). */
  only?: readonly string[];
  /**
   * dnf `priority` (lower wins; dnf's default is 99). A package name offered by a repository of
   * better priority hides that name in the others: a scratch build with the same NEVRA as the
   * stable package must be the one composed, not whichever dnf happens to prefer.
   */
  priority?: number;
}

export interface DnfDownloadOptions {
  /** Scratch directory owned by this compose: installroot, cache, HOME and downloads go under it. */
  workDir: string;
  repos: readonly DnfRepo[];
  /** Package specs (`name`, `name-[E:]V-R[.arch]`), already validated. */
  requests: readonly string[];
  exclude: readonly string[];
  releasever: string;
  basearch: string;
  weakDeps: boolean;
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function safeRepoUrl(url: string): string {
  safeArg(url, "repository URL");
  if (!URL.canParse(url) || !["file:", "http:", "https:"].includes(new URL(url).protocol) || url.includes(",")) {
    throw new UnsafeArgumentError("repository URL", url, "must be a file://, http:// or https:// URL without commas");
  }
  return url;
}

/** Run the depsolve; resolves to the download directory holding the resolved RPMs. */
export async function dnfDownload(options: DnfDownloadOptions, ctx: ToolContext): Promise<string> {
  const { workDir } = options;
  const home = join(workDir, "home");
  const dest = join(workDir, "rpms");
  await mkdir(home, { recursive: true });
  await mkdir(dest, { recursive: true });
  // Debian's rpm keeps its database in ~/.rpmdb; point it where Fedora keeps it, inside the installroot.
  await writeFile(join(home, ".rpmmacros"), "%_dbpath /usr/lib/sysimage/rpm\n");
  const args = [
    `--installroot=${safePath(join(workDir, "installroot"))}`,
    `--setopt=cachedir=${safePath(join(workDir, "dnf-cache"))}`,
    "--setopt=reposdir=/nonexistent",
    "--setopt=keepcache=False",
    `--setopt=install_weak_deps=${options.weakDeps ? "True" : "False"}`,
    `--releasever=${safeArg(options.releasever, "releasever")}`,
    `--forcearch=${safeArg(options.basearch, "basearch")}`,
    "--disableplugin=*",
    "--assumeyes",
    "--downloadonly",
    `--destdir=${safePath(dest)}`,
  ];
  for (const repo of options.repos) {
    if (!REPO_ID.test(repo.id)) throw new UnsafeArgumentError("repository id", repo.id, "is not a repository id");
    args.push(`--repofrompath=${repo.id},${safeRepoUrl(repo.url)}`, `--setopt=${repo.id}.gpgcheck=0`);
    if (repo.priority !== undefined) {
      if (!Number.isInteger(repo.priority) || repo.priority < 1 || repo.priority > 99) throw new UnsafeArgumentError("repository priority", String(repo.priority), "must be an integer from 1 to 99");
      args.push(`--setopt=${repo.id}.priority=${repo.priority}`);
    }
    if (repo.only) args.push(`--setopt=${repo.id}.includepkgs=${repo.only.length > 0 ? repo.only.join(",") : "atomic-ci-nothing"}`);
  }
  for (const name of options.exclude) args.push(`--exclude=${safeArg(name, "excluded package")}`);
  args.push("install", "--", ...options.requests.map((r) => safeArg(r, "package request")));
  await runTool("dnf", args, { env: { ...ctx.env, HOME: home, LC_ALL: "C" }, timeoutMs: ctx.timeoutMs ?? 600_000 });
  return dest;
}
