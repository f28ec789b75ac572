// A deployed OSTree sysroot for a compose commit, built without root and without
// `ostree admin deploy` (see docs/images.md, "The sysroot"): ostree itself makes the sysroot
// skeleton (`admin init-fs`), the stateroot (`admin os-init`) and fills its repository
// (`pull-local`, `refs --create`); the deployment is an `ostree checkout` of the commit plus
// what `admin deploy` would add: `/etc` from `/usr/etc`, the `.origin` file, the kernel and
// initramfs under `/boot/ostree/<os>-<bootcsum>/`, the BLS entry and the `boot.1` links.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ToolContext } from "@atomic-ci/tools";
import { ostree, run } from "./tools.js";

export interface SysrootOptions {
  /** The compose's repository (any mode, usually archive). */
  repo: string;
  commit: string;
  /** The ref the deployment's origin follows. */
  ref: string;
  /** Stateroot name (`ostree admin os-init`). */
  osname: string;
  /** Kernel arguments before `ostree=`; default {@link DEFAULT_KARGS}. */
  kargs?: readonly string[];
  /** An empty or absent directory: `<dir>/root` is the root filesystem's content, `<dir>/boot` the boot filesystem's. */
  dir: string;
}

export interface Sysroot {
  /** Content of the root partition: `ostree/repo`, `ostree/deploy/<os>/...`, an empty `boot/`. */
  root: string;
  /** Content of the boot partition: `loader/entries/ostree-1-<os>.conf`, `ostree/<os>-<bootcsum>/`. */
  boot: string;
  /** The deployment, relative to `root`: `ostree/deploy/<os>/deploy/<commit>.0`. */
  deployment: string;
  kver: string;
  bootcsum: string;
  /** The BLS entry's text. */
  blsEntry: string;
  /** Kernel and initramfs, relative to the boot partition's root. */
  kernel: string;
  initramfs: string;
  options: string;
}

export const DEFAULT_KARGS: readonly string[] = ["root=LABEL=root", "rw", "console=ttyS0,115200n8"];

/** The sysroot's repository mode: root-owned content only, no xattrs (see docs/images.md). */
export const SYSROOT_REPO_MODE = "bare-user-only";

export async function buildSysroot(opts: SysrootOptions, ctx: ToolContext): Promise<Sysroot> {
  const root = join(opts.dir, "root");
  const boot = join(opts.dir, "boot");
  await mkdir(root, { recursive: true });
  await mkdir(boot, { recursive: true });
  const repo = join(root, "ostree", "repo");

  await ostree(ctx, "admin", "init-fs", "--modern", root);
  await ostree(ctx, "config", `--repo=${repo}`, "set", "core.mode", SYSROOT_REPO_MODE);
  await ostree(ctx, "admin", "os-init", `--sysroot=${root}`, opts.osname);
  await ostree(ctx, "pull-local", `--repo=${repo}`, opts.repo, opts.commit);
  await ostree(ctx, "refs", `--repo=${repo}`, `--create=${opts.ref}`, opts.commit);

  const deployment = join("ostree", "deploy", opts.osname, "deploy", `${opts.commit}.0`);
  const deployDir = join(root, deployment);
  await mkdir(join(root, "ostree", "deploy", opts.osname, "deploy"), { recursive: true });
  // Objects of a bare-user-only repository are hardlinked into the checkout, as ostree does;
  // mkfs.ext4 -d keeps the hard links, so the files are stored once in the image.
  await ostree(ctx, "checkout", `--repo=${repo}`, "--require-hardlinks", opts.commit, deployDir);
  await run("cp", ["-a", "--", join(deployDir, "usr", "etc"), join(deployDir, "etc")], ctx);
  await writeFile(`${deployDir}.origin`, `[origin]\nrefspec=${opts.ref}\n`);

  const kver = await kernelVersion(opts.repo, opts.commit, deployDir, ctx);
  const modules = join(deployDir, "usr", "lib", "modules", kver);
  const vmlinuz = join(modules, "vmlinuz");
  const initramfs = join(modules, "initramfs.img");
  const bootcsum = await bootChecksum([vmlinuz, initramfs]);

  const bootDirName = `${opts.osname}-${bootcsum}`;
  await mkdir(join(boot, "ostree", bootDirName), { recursive: true });
  const kernel = join("ostree", bootDirName, `vmlinuz-${kver}`);
  const initrd = join("ostree", bootDirName, `initramfs-${kver}.img`);
  await run("cp", ["--preserve=mode", "--", vmlinuz, join(boot, kernel)], ctx);
  await run("cp", ["--preserve=mode", "--", initramfs, join(boot, initrd)], ctx);

  const options = [...(opts.kargs ?? DEFAULT_KARGS), `ostree=/ostree/boot.1/${opts.osname}/${bootcsum}/0`].join(" ");
  const title = `${await prettyName(deployDir)} (ostree:0)`;
  const blsEntry = `title ${title}\nversion 1\noptions ${options}\nlinux /${kernel}\ninitrd /${initrd}\n`;
  await mkdir(join(boot, "loader.1", "entries"), { recursive: true });
  await writeFile(join(boot, "loader.1", "entries", `ostree-1-${opts.osname}.conf`), blsEntry);
  await symlink("loader.1", join(boot, "loader"));
  await symlink(".", join(boot, "boot"));

  await mkdir(join(root, "ostree", "boot.1.1", opts.osname, bootcsum), { recursive: true });
  await symlink("boot.1.1", join(root, "ostree", "boot.1"));
  await symlink(join("..", "..", "..", "deploy", opts.osname, "deploy", `${opts.commit}.0`), join(root, "ostree", "boot.1.1", opts.osname, bootcsum, "0"));

  return { root, boot, deployment, kver, bootcsum, blsEntry, kernel, initramfs: initrd, options };
}

/** `ostree.linux` from the commit metadata, else the one directory under /usr/lib/modules with a vmlinuz. */
async function kernelVersion(repo: string, commit: string, deployDir: string, ctx: ToolContext): Promise<string> {
  const shown = await run("ostree", ["show", `--repo=${repo}`, "--print-metadata-key=ostree.linux", commit], { ...ctx }).catch(() => undefined);
  const fromMeta = /^'([^']+)'$/.exec(shown?.stdout.trim() ?? "")?.[1];
  if (fromMeta) return fromMeta;
  const dir = join(deployDir, "usr", "lib", "modules");
  const found: string[] = [];
  for (const name of await readdir(dir).catch(() => [])) {
    if (await stat(join(dir, name, "vmlinuz")).then(() => true, () => false)) found.push(name);
  }
  if (found.length !== 1) throw new Error(`commit ${commit} is not bootable: ${found.length === 0 ? "no" : "more than one"} /usr/lib/modules/<kver>/vmlinuz`);
  return found[0] as string;
}

/** ostree's boot checksum: sha256 over the kernel's then the initramfs's bytes. */
async function bootChecksum(files: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const file of files) {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

async function prettyName(deployDir: string): Promise<string> {
  for (const rel of [["usr", "lib", "os-release"], ["usr", "etc", "os-release"]]) {
    const text = await readFile(join(deployDir, ...rel), "utf8").catch(() => undefined);
    const m = text === undefined ? null : /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(text);
    if (m) return (m[1] ?? m[2] ?? "").trim() || "OSTree";
  }
  return "OSTree";
}
