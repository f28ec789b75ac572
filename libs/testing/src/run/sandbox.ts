// The bwrap command line that makes a composed tree the test's whole world: the tree's /usr
// read-only, /etc from the tree's /usr/etc (ostree keeps the default /etc there) read-only,
// the tree's top-level symlinks (/bin → usr/bin ...), private tmpfs /tmp, /var, /run and
// /root, fresh /proc and /dev, every namespace unshared (no network), uid 0 inside a user
// namespace with every capability dropped and no further user namespaces, so nothing can
// remount the tree writable. Only the test directory and the artifacts directory are writable.
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

export const SANDBOX_TEST_DIR = "/var/tmp/test";
export const SANDBOX_ARTIFACTS = "/artifacts";
export const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";

export interface SandboxSpec {
  tree: string;
  /** Top-level symlinks of the tree, name → target. */
  links: ReadonlyMap<string, string>;
  /** Other top-level directories of the tree (`sysroot`, `boot`, …): made empty, as on a booted host. */
  dirs?: readonly string[];
  testDir: string;
  artifactsDir: string;
  env: Readonly<Record<string, string>>;
  command: readonly string[];
  /** File descriptor bwrap reports `{"exit-code": N}` on: tells the test's exit from bwrap's own failure. */
  statusFd: number;
}

export async function treeLinks(tree: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  for (const name of (await readdir(tree)).sort()) {
    if ((await lstat(join(tree, name))).isSymbolicLink()) links.set(name, await readlink(join(tree, name)));
  }
  return links;
}

/** Top-level paths the sandbox mounts itself; the tree's directories of these names are not made again. */
const MOUNTED = new Set(["usr", "etc", "tmp", "var", "run", "root", "proc", "dev"]);

/** The tree's top-level directories the sandbox does not mount (ostree commits keep them empty: `sysroot`, `boot`, `sys`, …). */
export async function treeDirs(tree: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const name of (await readdir(tree)).sort()) {
    if (MOUNTED.has(name) || name.startsWith(".")) continue;
    if ((await lstat(join(tree, name))).isDirectory()) dirs.push(name);
  }
  return dirs;
}

export function bwrapArgs(spec: SandboxSpec): string[] {
  const args = ["--ro-bind", join(spec.tree, "usr"), "/usr", "--ro-bind", join(spec.tree, "usr/etc"), "/etc"];
  for (const [name, target] of spec.links) args.push("--symlink", target, `/${name}`);
  // Empty, as in a deployment (tests look for /sysroot); nothing of the host is behind them.
  for (const name of spec.dirs ?? []) if (!MOUNTED.has(name)) args.push("--dir", `/${name}`);
  args.push("--tmpfs", "/tmp", "--tmpfs", "/var", "--tmpfs", "/run", "--tmpfs", "/root", "--proc", "/proc", "--dev", "/dev");
  args.push("--bind", spec.testDir, SANDBOX_TEST_DIR, "--bind", spec.artifactsDir, SANDBOX_ARTIFACTS, "--chdir", SANDBOX_TEST_DIR);
  // The root itself (bwrap's tmpfs holding the mount points) read-only, as the deployment's: only the mounts above are writable.
  args.push("--remount-ro", "/");
  args.push("--unshare-all", "--unshare-user", "--disable-userns", "--uid", "0", "--gid", "0", "--cap-drop", "ALL");
  args.push("--die-with-parent", "--new-session", "--json-status-fd", String(spec.statusFd), "--clearenv");
  for (const [key, value] of Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b))) args.push("--setenv", key, value);
  args.push("--", ...spec.command);
  return args;
}
