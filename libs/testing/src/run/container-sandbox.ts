// The container's process: what a runtime (crun under podman) would start from the image's
// config, and the bwrap command line that starts it. The hardening is the host-test sandbox's
// (run/sandbox.ts; a unit test keeps the two lists equal): every namespace unshared (no
// network), a user namespace mapping the container user onto the runner's uid, every
// capability dropped, no further user namespaces, killed with its parent. Only the root file
// system differs: the image's unpacked layers (a private, writable copy, as a container's
// rootfs is) instead of the composed tree.
import { lstat, mkdir, readFile, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import type { ContainerImageSpec } from "../discover/containers.js";
import { ImageError, type ImageConfig } from "./container-oci.js";

/** The OCI runtime's default PATH when the image sets none (runc, crun, podman). */
export const CONTAINER_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ContainerProcess {
  argv: string[];
  env: Record<string, string>;
  uid: number;
  gid: number;
  /** Absolute, inside the container. */
  cwd: string;
}

export interface ContainerSandboxSpec extends ContainerProcess {
  rootfs: string;
  hostname: string;
  statusFd: number;
}

export function containerBwrapArgs(spec: ContainerSandboxSpec): string[] {
  const args = ["--bind", spec.rootfs, "/", "--proc", "/proc", "--dev", "/dev", "--chdir", spec.cwd];
  args.push("--unshare-all", "--unshare-user", "--disable-userns", "--uid", String(spec.uid), "--gid", String(spec.gid), "--hostname", spec.hostname, "--cap-drop", "ALL");
  args.push("--die-with-parent", "--new-session", "--json-status-fd", String(spec.statusFd), "--clearenv");
  for (const [key, value] of Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b))) args.push("--setenv", key, value);
  args.push("--", ...spec.argv);
  return args;
}

/**
 * The process as podman would run it: argv = Entrypoint + Cmd (the definition's `entrypoint`
 * replaces the first and drops the image's Cmd; its `command` replaces Cmd), Env from the
 * config then the definition's `env`, PATH and HOME filled in when missing, User resolved
 * with the image's /etc/passwd and /etc/group, WorkingDir (default `/`) created when missing.
 * The program must exist in the image: otherwise the image is broken, not the runner.
 */
export async function resolveProcess(config: ImageConfig, spec: Pick<ContainerImageSpec, "entrypoint" | "command" | "user" | "env">, rootfs: string): Promise<ContainerProcess> {
  const image = config.config ?? {};
  const entrypoint = spec.entrypoint ?? image.Entrypoint ?? [];
  const cmd = spec.command ?? (spec.entrypoint !== undefined ? [] : (image.Cmd ?? []));
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0 || argv[0] === "") throw new ImageError("config", "nothing to run: the image has no Entrypoint or Cmd and the definition gives no command");

  const env: Record<string, string> = {};
  for (const pair of image.Env ?? []) {
    const eq = pair.indexOf("=");
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  Object.assign(env, spec.env);
  env["PATH"] ??= CONTAINER_DEFAULT_PATH;

  const user = await resolveUser(rootfs, spec.user ?? image.User ?? "");
  env["HOME"] ??= user.home ?? "/";

  const cwd = image.WorkingDir || "/";
  if (!cwd.startsWith("/")) throw new ImageError("config", `WorkingDir ${JSON.stringify(cwd)} is not absolute`);
  if ((await resolveInRoot(rootfs, cwd)) === null) await mkdirInRoot(rootfs, cwd);

  const program = argv[0] as string;
  if ((await findExecutable(rootfs, program, env["PATH"], cwd)) === null) {
    throw new ImageError("config", `executable ${JSON.stringify(program)} not found in the image${program.includes("/") ? "" : ` (PATH=${env["PATH"]})`}`);
  }
  return { argv, env, uid: user.uid, gid: user.gid, cwd };
}

/** `user[:group]`, each a name or a number, looked up in the image's own files. */
export async function resolveUser(rootfs: string, text: string): Promise<{ uid: number; gid: number; home?: string }> {
  const [userPart = "", groupPart] = text.split(":");
  const passwd = parseColonFile(await readInRoot(rootfs, "/etc/passwd"));
  let uid = 0;
  let gid = 0;
  let home: string | undefined;
  if (userPart !== "") {
    const byNumber = /^\d+$/.test(userPart);
    const entry = passwd.find((f) => (byNumber ? f[2] === String(Number(userPart)) : f[0] === userPart));
    if (!entry && !byNumber) throw new ImageError("config", `user ${JSON.stringify(userPart)} is not in the image's /etc/passwd`);
    uid = byNumber ? Number(userPart) : Number(entry?.[2]);
    gid = entry ? Number(entry[3]) : 0;
    home = entry?.[5] || undefined;
  } else {
    home = passwd.find((f) => f[2] === "0")?.[5] || undefined;
  }
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = parseColonFile(await readInRoot(rootfs, "/etc/group")).find((f) => f[0] === groupPart);
      if (!group) throw new ImageError("config", `group ${JSON.stringify(groupPart)} is not in the image's /etc/group`);
      gid = Number(group[2]);
    }
  }
  for (const [what, id] of [["uid", uid], ["gid", gid]] as const) {
    if (!Number.isSafeInteger(id) || id < 0 || id > 0xfffffffe) throw new ImageError("config", `${what} ${id} of user ${JSON.stringify(text)} is not valid`);
  }
  const result: { uid: number; gid: number; home?: string } = { uid, gid };
  if (home !== undefined) result.home = home;
  return result;
}

function parseColonFile(text: string | null): string[][] {
  if (text === null) return [];
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

/**
 * Resolve `path` as the container would see it: symlinks followed with `/` meaning the
 * root file system and `..` stopping at it, so the answer is always inside `root`. Null when
 * something on the way is missing (or there are too many links).
 */
export async function resolveInRoot(root: string, path: string): Promise<string | null> {
  let parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const stack: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift() as string;
    if (part === "..") {
      stack.pop();
      continue;
    }
    const candidate = join(root, ...stack, part);
    let info;
    try {
      info = await lstat(candidate);
    } catch {
      return null;
    }
    if (info.isSymbolicLink()) {
      if (++links > 40) return null;
      const target = await readlink(candidate);
      if (target.startsWith("/")) stack.length = 0;
      parts = [...target.split("/").filter((p) => p !== "" && p !== "."), ...parts];
      continue;
    }
    if (parts.length > 0 && !info.isDirectory()) return null;
    stack.push(part);
  }
  return join(root, ...stack);
}

async function readInRoot(root: string, path: string): Promise<string | null> {
  const real = await resolveInRoot(root, path);
  if (real === null) return null;
  const info = await lstat(real);
  if (!info.isFile() || info.size > 1024 * 1024) return null;
  return readFile(real, "utf8");
}

async function mkdirInRoot(root: string, path: string): Promise<void> {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new ImageError("config", `WorkingDir ${JSON.stringify(path)} contains '..'`);
  for (let i = 0; i < parts.length; i++) {
    const here = join(root, ...parts.slice(0, i + 1));
    const info = await lstat(here).catch(() => null);
    if (!info) await mkdir(here, 0o755);
    else if (!info.isDirectory()) throw new ImageError("config", `WorkingDir ${JSON.stringify(path)} cannot be created: ${JSON.stringify(parts.slice(0, i + 1).join("/"))} is not a directory`);
  }
}

/** The program as execvp inside the container would find it: a path, or the first PATH entry holding it. */
export async function findExecutable(root: string, program: string, path: string | undefined, cwd: string): Promise<string | null> {
  const candidates = program.includes("/") ? [posix.resolve(cwd, program)] : (path ?? CONTAINER_DEFAULT_PATH).split(":").filter((d) => d.startsWith("/")).map((d) => posix.join(d, program));
  for (const candidate of candidates) {
    const real = await resolveInRoot(root, candidate);
    if (real === null) continue;
    const info = await lstat(real);
    if (info.isFile() && (info.mode & 0o111) !== 0) return candidate;
  }
  return null;
}
