import type { KernelInput } from "../kernel/stage.js";
import type { SourcePackage } from "../model.js";
import { basePackages, type BusyboxInput } from "./base.js";
import { containerPackages } from "./containers.js";
import { fooPackages } from "./foo.js";
import { kernelPackage } from "./kernel.js";
import { ostreePackages } from "./ostree.js";
import { systemPackages } from "./system.js";

export type { BusyboxInput } from "./base.js";

/** What the host definition's treefiles list (the base file, its x86_64 list, and the top-level file). */
export const HOST_PACKAGES = {
  base: [
    "filesystem setup atomic-host-release",
    "bash coreutils glibc glibc-minimal-langpack util-linux sudo",
    "systemd dbus-broker chrony",
    "kernel linux-firmware",
    "ostree rpm-ostree",
    "selinux-policy-targeted",
    "openssh-server openssh-clients NetworkManager",
    "tzdata ca-certificates",
  ],
  x86_64: ["grub2 bootupd"],
  top: ["podman", "foo-cli"],
} as const;

/** Every package name the host definition asks for (entries split on whitespace, as rpm-ostree does). */
export function hostPackageNames(): string[] {
  return [...HOST_PACKAGES.base, ...HOST_PACKAGES.x86_64, ...HOST_PACKAGES.top].flatMap((entry) => entry.split(/\s+/));
}

/**
 * The busybox applets linked into /usr/bin: what the stand-ins, the tests and an initramfs-
 * style boot use. Linking all ~400 would make busybox's build the slowest of the world (one
 * `ln` process each) for commands nothing runs.
 */
export const BUSYBOX_LINKS = `
  ash awk base64 basename blkid cat chmod chown chroot cmp cp cpio cut date dd df diff dirname
  dmesg du echo egrep env expr false fgrep find findfs free grep gunzip gzip halt head hexdump
  hostname id insmod ip kill less ln losetup ls lsmod md5sum mkdir mknod mktemp modprobe more
  mount mv nproc nsenter od pidof ping poweroff printf ps pwd readlink realpath reboot rm rmdir
  sed seq setsid sha256sum sleep sort stat switch_root sync tail tar tee test timeout touch tr
  true umount uname uniq unshare vi wc which xargs yes zcat
`.trim().split(/\s+/);

/**
 * The whole catalogue: 31 source packages. busybox links those of BUSYBOX_LINKS the binary
 * has and no other package installs under the same name, so the stand-ins win.
 */
export function fixtureCatalog(busybox: BusyboxInput, kernel: KernelInput): SourcePackage[] {
  const others = [...systemPackages(), ...ostreePackages(), ...containerPackages(), ...fooPackages(), kernelPackage(kernel)];
  const owned = new Set<string>();
  for (const pkg of [...others, ...basePackages({ ...busybox, applets: [] })]) {
    for (const v of pkg.versions) for (const b of pkg.binaries(v)) for (const f of b.files) owned.add(f.path);
  }
  const available = new Set(busybox.applets);
  const applets = BUSYBOX_LINKS.filter((a) => available.has(a) && !owned.has(`/usr/bin/${a}`) && !owned.has(`/usr/sbin/${a}`));
  return [...basePackages({ ...busybox, applets }), ...others];
}
