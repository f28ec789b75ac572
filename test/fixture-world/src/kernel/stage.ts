import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { runTool, type ToolEnv } from "@atomic-ci/tools";
import { buildInitramfs } from "./initramfs.js";
import { BOOT_MODULES, EXTRA_MODULES, loadOrder, parseModulesDep } from "./modules.js";

/** Where the machine's kernel is (Debian's linux-image-amd64 layout). */
export interface KernelLocation {
  kver: string;
  vmlinuz: string;
  /** /lib/modules/<kver> */
  modulesDir: string;
  config?: string;
}

/** The newest kernel in bootDir that has a modules tree in modulesRoot. */
export async function locateKernel(bootDir: string, modulesRoot: string): Promise<KernelLocation> {
  const names = await readdir(bootDir).catch(() => [] as string[]);
  const candidates: KernelLocation[] = [];
  for (const name of names.filter((n) => n.startsWith("vmlinuz-")).sort((a, b) => a.localeCompare(b, "en", { numeric: true }))) {
    const kver = name.slice("vmlinuz-".length);
    const modulesDir = join(modulesRoot, kver);
    if (!(await exists(join(modulesDir, "modules.dep")))) continue;
    const config = join(bootDir, `config-${kver}`);
    candidates.push({ kver, vmlinuz: join(bootDir, name), modulesDir, ...((await exists(config)) ? { config } : {}) });
  }
  const newest = candidates[candidates.length - 1];
  if (!newest) {
    throw new Error(`no kernel with modules found (${bootDir}/vmlinuz-* and ${modulesRoot}/<ver>/modules.dep): install linux-image-amd64`);
  }
  return newest;
}

/** The kernel as staged for rpmbuild: lookaside sources plus what the spec lists. */
export interface KernelInput {
  kver: string;
  /** RPM version and release number: `6.1.0-56-amd64` → 6.1.0 and 56. */
  rpmVersion: string;
  rpmRelease: string;
  sources: { vmlinuz: string; initramfs: string; modulesTar: string; config?: string };
  /** Module paths relative to /usr/lib/modules/<kver>: loaded by the initramfs, in load order. */
  bootModules: string[];
  /** The rest (EXTRA_MODULES and their dependencies not already in bootModules). */
  extraModules: string[];
  /** modules.* files depmod wrote (modules.dep, modules.alias, ...). */
  metaFiles: string[];
  /** Paths inside the initramfs archive. */
  initramfsPaths: string[];
}

/**
 * Copy the selected modules into `stageDir`, let depmod index just those, tar them, and build
 * the initramfs. Everything lands in `stageDir/sources` for the kernel spec's SourceN lines.
 */
export async function stageKernel(
  kernel: KernelLocation,
  busybox: string,
  stageDir: string,
  options: { env: ToolEnv; mtime: number },
): Promise<KernelInput> {
  const deps = parseModulesDep(await readFile(join(kernel.modulesDir, "modules.dep"), "utf8"));
  const bootModules = loadOrder(deps, BOOT_MODULES);
  const extraModules = loadOrder(deps, EXTRA_MODULES).filter((m) => !bootModules.includes(m));
  const tree = join(stageDir, "lib", "modules", kernel.kver);
  for (const module of [...bootModules, ...extraModules]) {
    await mkdir(dirname(join(tree, module)), { recursive: true });
    await copyFile(join(kernel.modulesDir, module), join(tree, module));
  }
  // depmod wants the builtin lists to tell built-in modules from missing ones.
  for (const file of ["modules.builtin", "modules.builtin.modinfo"]) {
    if (await exists(join(kernel.modulesDir, file))) await copyFile(join(kernel.modulesDir, file), join(tree, file));
  }
  const shipped = new Set([...bootModules, ...extraModules]);
  const order = await readFile(join(kernel.modulesDir, "modules.order"), "utf8").catch(() => "");
  await writeFile(join(tree, "modules.order"), order.split("\n").filter((line) => shipped.has(line)).map((l) => `${l}\n`).join(""));

  const env = { ...options.env, PATH: `${options.env["PATH"] ?? "/usr/bin:/bin"}:/usr/sbin:/sbin`, LC_ALL: "C" };
  await runTool("depmod", ["--basedir", stageDir, kernel.kver], { env, timeoutMs: 60_000 });
  const metaFiles = (await readdir(tree)).filter((name) => name.startsWith("modules.")).sort();

  const sources = join(stageDir, "sources");
  await mkdir(sources, { recursive: true });
  const modulesTar = join(sources, `modules-${kernel.kver}.tar`);
  // GNU tar's reproducible mode: sorted names, one mtime, numeric root ownership.
  await runTool(
    "tar",
    ["--sort=name", `--mtime=@${options.mtime}`, "--owner=0", "--group=0", "--numeric-owner", "--format=gnu", "-C", join(stageDir, "lib", "modules"), "-cf", modulesTar, kernel.kver],
    { env, timeoutMs: 120_000 },
  );
  const vmlinuz = join(sources, `vmlinuz-${kernel.kver}`);
  await copyFile(kernel.vmlinuz, vmlinuz);
  let config: string | undefined;
  if (kernel.config) {
    config = join(sources, `config-${kernel.kver}`);
    await copyFile(kernel.config, config);
  }
  const initramfs = join(sources, `initramfs-${kernel.kver}.img`);
  const built = await buildInitramfs({ kver: kernel.kver, busybox, modulesDir: tree, loadOrder: bootModules, mtime: options.mtime });
  await writeFile(initramfs, built.image);

  const [, rpmVersion = kernel.kver.replaceAll("-", "_"), rpmRelease = "1"] = /^(\d+\.\d+\.\d+)-(\d+)/.exec(kernel.kver) ?? [];
  return {
    kver: kernel.kver,
    rpmVersion,
    rpmRelease,
    sources: { vmlinuz, initramfs, modulesTar, ...(config ? { config } : {}) },
    bootModules,
    extraModules,
    metaFiles,
    initramfsPaths: built.paths,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
