import type { KernelInput } from "../kernel/stage.js";
import type { FileEntry, LookasideSource, SourcePackage } from "../model.js";
import { smoke } from "./helpers.js";

/**
 * The kernel package, Fedora's split: `kernel` (meta) requires `kernel-core` (vmlinuz,
 * initramfs, config, module indexes, the boot modules) and `kernel-modules` (the rest of the
 * selected modules). Everything lives in /usr/lib/modules/<kver>/ where ostree and
 * rpm-ostree look for it. The payload is the build machine's Debian kernel, repackaged.
 */
export function kernelPackage(k: KernelInput): SourcePackage {
  const dir = `/usr/lib/modules/${k.kver}`;
  const sources: LookasideSource[] = [
    { name: `vmlinuz-${k.kver}`, path: k.sources.vmlinuz },
    { name: `initramfs-${k.kver}.img`, path: k.sources.initramfs },
    { name: `modules-${k.kver}.tar`, path: k.sources.modulesTar },
  ];
  const coreFiles: FileEntry[] = [
    { path: dir, dir: true },
    { path: `${dir}/vmlinuz`, source: `vmlinuz-${k.kver}`, mode: 0o755 },
    { path: `${dir}/initramfs.img`, source: `initramfs-${k.kver}.img`, mode: 0o644 },
    ...k.metaFiles.map((name) => ({ path: `${dir}/${name}`, listed: true as const })),
    ...k.bootModules.map((module) => ({ path: `${dir}/${module}`, listed: true as const })),
  ];
  if (k.sources.config) {
    sources.push({ name: `config-${k.kver}`, path: k.sources.config });
    coreFiles.push({ path: `${dir}/config`, source: `config-${k.kver}` });
  }
  return {
    name: "kernel",
    summary: "The Linux kernel (the build machine's Debian kernel, repackaged)",
    description: `Linux ${k.kver} with an initramfs built for virtio VMs with an ext4 root.`,
    license: "GPL-2.0-only",
    url: "https://www.kernel.org",
    arch: "x86_64",
    tests: "sti",
    // Module files are relocatable ELF objects: nothing for rpm to derive, and nothing to strip.
    preamble: ["AutoReqProv:    no"],
    sources,
    installScript: [`install -d %{buildroot}/usr/lib/modules`, `tar -C %{buildroot}/usr/lib/modules -xf {source:modules-${k.kver}.tar}`],
    versions: [
      {
        version: k.rpmVersion,
        release: k.rpmRelease,
        repo: "stable",
        date: "2024-10-15T06:00:00Z",
        changelog: `Repackage Linux ${k.kver} for the fixture world`,
      },
    ],
    binaries: () => [
      {
        name: "kernel",
        summary: "The Linux kernel (meta package)",
        requires: ["kernel-core = %{version}-%{release}", "kernel-modules = %{version}-%{release}"],
        files: [],
      },
      {
        name: "kernel-core",
        summary: "The Linux kernel image, initramfs and boot modules",
        requires: ["filesystem"],
        // Fedora writes `kernel-uname-r = <kver>`; a Debian kver has two dashes, which no EVR may.
        provides: [`kernel-uname-r(${k.kver})`, "installonlypkg(kernel)"],
        files: coreFiles,
      },
      {
        name: "kernel-modules",
        summary: "Kernel modules beyond the boot set",
        requires: ["kernel-core = %{version}-%{release}"],
        provides: [`kernel-modules-uname-r(${k.kver})`],
        files: k.extraModules.map((module) => ({ path: `${dir}/${module}`, listed: true as const })),
      },
    ],
    smoke: () =>
      smoke(
        "kernel",
        `kver=${k.kver}
check vmlinuz [ -s /usr/lib/modules/$kver/vmlinuz ]
check initramfs [ -s /usr/lib/modules/$kver/initramfs.img ]
check modules-dep grep -q 'ext4.ko' /usr/lib/modules/$kver/modules.dep
check overlay [ -f /usr/lib/modules/$kver/kernel/fs/overlayfs/overlay.ko ]`,
      ),
  };
}
