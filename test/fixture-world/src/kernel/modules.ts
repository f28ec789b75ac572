/**
 * Which kernel modules the fixture carries. The kernel package would be ~400 MB with every
 * module; the fixture keeps what booting a VM from a virtio disk with an ext4 root needs
 * (BOOT_MODULES, which the initramfs loads), a few a container host uses (EXTRA_MODULES), and
 * every module those depend on according to the kernel's own modules.dep.
 */

/** Loaded by the initramfs, in dependency order. `crc32c_generic` is ext4's and jbd2's softdep (`crypto-crc32c`). */
export const BOOT_MODULES = ["virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "crc32c_generic", "ext4"] as const;
/** In kernel-modules: overlay for container storage, loop and squashfs for images, virtio_net and virtio_console for VMs. */
export const EXTRA_MODULES = ["overlay", "loop", "squashfs", "virtio_net", "virtio_console"] as const;

/** Module name as modprobe spells it: file name without `.ko[.xz|.zst|.gz]`, `-` as `_`. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");
}

export interface ModuleDep {
  /** Path relative to /lib/modules/<kver>, e.g. `kernel/fs/ext4/ext4.ko`. */
  path: string;
  /** Direct and indirect dependencies, as modules.dep lists them. */
  deps: string[];
}

/** Parse modules.dep (`path: dep dep ...` per line) into a map keyed by module name. */
export function parseModulesDep(text: string): Map<string, ModuleDep> {
  const modules = new Map<string, ModuleDep>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter((dep) => dep.length > 0);
    modules.set(moduleName(path), { path, deps });
  }
  return modules;
}

/**
 * Module paths to load, dependencies first, for the named modules. modules.dep lists a
 * module's whole closure, nearest dependency first, so each dependency is visited (its own
 * dependencies before it) in reverse list order, as modprobe does.
 */
export function loadOrder(modules: Map<string, ModuleDep>, names: readonly string[]): string[] {
  const byPath = new Map([...modules.values()].map((m) => [m.path, m]));
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const mod = byPath.get(path);
    if (!mod) throw new Error(`modules.dep names ${path} as a dependency but has no entry for it`);
    for (const dep of [...mod.deps].reverse()) visit(dep);
    order.push(path);
  };
  for (const name of names) {
    const mod = modules.get(name);
    if (!mod) throw new Error(`kernel module ${name} is not in modules.dep (built in, or not built for this kernel?)`);
    visit(mod.path);
  }
  return order;
}
