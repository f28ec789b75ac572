// Test helpers for the fixture world: install packages with real dnf into a throw-away root,
// run a dist-git test script inside that root with bubblewrap, read policies.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitShowFile, runTool, type RunToolResult } from "@atomic-ci/tools";
import { parseAllDocuments, type Tags } from "yaml";
import type { World } from "./src/index.js";

export const env = { ...process.env, LC_ALL: "C" };
export const ctx = { env };

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `fixture-world-${prefix}-`));
}

/**
 * `dnf install` into `root` from the world's repos, without root tricks: the repos come from
 * --repofrompath, no system repo file is read, and HOME points at the world's .rpmmacros so the
 * rpmdb lands in /usr/lib/sysimage/rpm. Throws a ToolError (exit 1) when it cannot depsolve.
 */
export function dnfInstall(
  world: World,
  root: string,
  packages: readonly string[],
  options: { repos?: readonly ("stable" | "candidates")[]; extraRepos?: readonly { id: string; url: string }[]; assumeNo?: boolean } = {},
): Promise<RunToolResult> {
  const repos = [...(options.repos ?? ["stable"]).map((name) => world.repos[name]), ...(options.extraRepos ?? [])];
  return runTool(
    "dnf",
    [
      options.assumeNo ? "--assumeno" : "-y",
      `--installroot=${root}`,
      "--setopt=reposdir=/nonexistent",
      `--releasever=${world.releasever}`,
      "--nogpgcheck",
      "--setopt=install_weak_deps=False",
      ...repos.map((repo) => `--repofrompath=${repo.id},${repo.url}`),
      "install",
      "--",
      ...packages,
    ],
    { env: { ...env, HOME: world.dnfHome }, timeoutMs: 120_000 },
  );
}

/** Name → `[E:]V-R.arch` of everything installed in `root`, from its rpmdb. */
export async function installed(world: World, root: string): Promise<Map<string, string>> {
  const { stdout } = await runTool("rpm", ["--root", root, "-qa", "--qf", "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}.%{ARCH}\\n"], {
    env: { ...env, HOME: world.dnfHome },
    timeoutMs: 30_000,
  });
  return new Map(
    stdout
      .trim()
      .split("\n")
      .map((line) => line.split(" ") as [string, string]),
  );
}

/** A test script from a dist-git repository as it was at `commit`, written into a fresh directory. */
export async function testsAt(repo: string, commit: string, file = "tests/smoke.sh"): Promise<string> {
  const dir = await tempDir("tests");
  await writeFile(join(dir, "smoke.sh"), await gitShowFile(repo, commit, file, ctx), { mode: 0o755 });
  return dir;
}

/** Run `/bin/sh <script>` inside `root` (bubblewrap, new namespaces), with `testsDir` at /run/tests. */
export async function runInRoot(root: string, testsDir: string, script = "./smoke.sh"): Promise<RunToolResult> {
  await mkdir(join(root, "run"), { recursive: true });
  return runTool(
    "bwrap",
    [
      "--bind", root, "/",
      "--proc", "/proc",
      "--dev", "/dev",
      "--tmpfs", "/tmp",
      "--ro-bind", testsDir, "/run/tests",
      "--chdir", "/run/tests",
      "--unshare-all",
      "--die-with-parent",
      "--clearenv",
      "--setenv", "PATH", "/usr/bin:/usr/sbin",
      "/bin/sh", script,
    ],
    { env, timeoutMs: 60_000, okExitCodes: "any" },
  );
}

/** Greenwave policy documents: each `--- !Policy` with its rules' tags. */
export function policies(text: string): { tag: string | undefined; value: Record<string, unknown>; ruleTags: (string | undefined)[] }[] {
  const tag = (name: string) => ({ tag: name, collection: "map" as const, resolve: (value: unknown) => value });
  const customTags = ["!Policy", "!PassingTestCaseRule", "!RemoteRule"].map(tag) as unknown as Tags;
  return parseAllDocuments(text, { customTags }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("; "));
    const contents = doc.contents as { tag?: string; get: (key: string, keepScalar?: boolean) => unknown } | null;
    const rules = contents?.get("rules", true) as { items?: { tag?: string }[] } | undefined;
    return {
      tag: contents?.tag,
      value: doc.toJS() as Record<string, unknown>,
      ruleTags: (rules?.items ?? []).map((item) => item.tag),
    };
  });
}
