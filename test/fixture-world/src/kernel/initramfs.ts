import { readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { gzipSync } from "node:zlib";
import { writeCpio, type CpioEntry } from "./cpio.js";

/**
 * The initramfs /init: a busybox script doing what dracut and ostree-prepare-root do for a
 * Fedora Atomic Host, minus everything a virtio VM does not need.
 *  1. mount proc, sys, devtmpfs; 2. insmod the storage and ext4 modules in the order computed
 *  from modules.dep at build time; 3. read root=, rootfstype=, rootflags=, ro/rw, init= and
 *  ostree= from /proc/cmdline, wait up to 10 s for the root device (LABEL=/UUID= through
 *  findfs); 4. mount it on /sysroot; with ostree=, bind the deployment it points at as the new
 *  root, its stateroot's var on /var, the physical root on /sysroot, /usr read-only;
 *  5. move the API mounts over and switch_root to init. Any failure drops to a shell.
 */
export function initScript(kver: string): string {
  return `#!/bin/sh
# initramfs /init from the atomic-ci fixture world (kernel ${kver}); see docs/fixture-world.md.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /sysroot /tmp

emergency() {
  echo "initramfs: $*"
  echo "initramfs: dropping to a shell"
  exec sh
}

kver=${kver}
[ "$(uname -r)" = "$kver" ] || echo "initramfs: warning: running $(uname -r), modules are for $kver"
echo "initramfs: atomic-ci fixture world, kernel $kver"
while read -r module; do
  [ -n "$module" ] || continue
  insmod "/lib/modules/$kver/$module" || echo "initramfs: could not load $module"
done < /etc/initrd-modules

root="" rootfstype=ext4 rootflags="" mode=ro init=/sbin/init ostree=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    root=*) root=\${arg#root=} ;;
    rootfstype=*) rootfstype=\${arg#rootfstype=} ;;
    rootflags=*) rootflags=\${arg#rootflags=} ;;
    init=*) init=\${arg#init=} ;;
    ostree=*) ostree=\${arg#ostree=} ;;
    rw) mode=rw ;;
    ro) mode=ro ;;
  esac
done
[ -n "$root" ] || emergency "no root= on the kernel command line"

resolve_root() {
  case "$1" in
    LABEL=*|UUID=*) findfs "$1" 2>/dev/null ;;
    *) echo "$1" ;;
  esac
}
tries=0
until dev=$(resolve_root "$root") && [ -b "$dev" ]; do
  tries=$((tries + 1))
  [ "$tries" -le 100 ] || emergency "root device $root did not appear"
  sleep 0.1
done

opts=$mode
[ -n "$rootflags" ] && opts="$opts,$rootflags"
mount -t "$rootfstype" -o "$opts" "$dev" /sysroot || emergency "cannot mount $dev on /sysroot"

newroot=/sysroot
if [ -n "$ostree" ]; then
  # ostree=/ostree/boot.N/OS/BOOTCSUM/SERIAL is a chain of symlinks to the deployment.
  deploy=$(cd "/sysroot$ostree" 2>/dev/null && pwd -P) || emergency "ostree=$ostree does not exist"
  mount --bind "$deploy" "$deploy"
  [ -d "$deploy/../../var" ] && mount --bind "$deploy/../../var" "$deploy/var"
  mount --bind /sysroot "$deploy/sysroot"
  mount --bind "$deploy/usr" "$deploy/usr" && mount -o remount,bind,ro "$deploy/usr"
  newroot=$deploy
fi

[ -e "$newroot$init" ] || [ -L "$newroot$init" ] || emergency "$init is not in the root file system"
for fs in dev proc sys run; do
  mount --move "/$fs" "$newroot/$fs" 2>/dev/null || umount -l "/$fs" 2>/dev/null
done
echo "initramfs: switching to $dev ($newroot), init $init"
exec switch_root "$newroot" "$init"
`;
}

export interface InitramfsInput {
  kver: string;
  busybox: string;
  /** Directory holding `<relative module path>` files (the staged /lib/modules/<kver>). */
  modulesDir: string;
  /** Module paths relative to modulesDir, in load order. */
  loadOrder: readonly string[];
  /** Unix time for every entry. */
  mtime: number;
}

/** Build the gzip'ed newc initramfs; returns the archive and the list of paths in it. */
export async function buildInitramfs(input: InitramfsInput): Promise<{ image: Buffer; paths: string[] }> {
  const modRoot = `lib/modules/${input.kver}`;
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const addDir = (path: string): void => {
    if (path === "." || dirs.has(path)) return;
    addDir(posix.dirname(path));
    dirs.add(path);
    entries.push({ path, type: "dir", mode: 0o755 });
  };
  for (const dir of ["bin", "dev", "etc", "proc", "sys", "run", "sysroot", "tmp", "lib"]) addDir(dir);
  entries.push(
    { path: "dev/console", type: "char", mode: 0o600, major: 5, minor: 1 },
    { path: "dev/null", type: "char", mode: 0o666, major: 1, minor: 3 },
    { path: "bin/busybox", type: "file", mode: 0o755, data: await readFile(input.busybox) },
    { path: "bin/sh", type: "symlink", target: "busybox" },
    { path: "init", type: "file", mode: 0o755, data: Buffer.from(initScript(input.kver)) },
    { path: "etc/initrd-modules", type: "file", mode: 0o644, data: Buffer.from(input.loadOrder.map((m) => `${m}\n`).join("")) },
    {
      path: "etc/initrd-release",
      type: "file",
      mode: 0o644,
      data: Buffer.from('NAME="Fedora Linux"\nID=fedora\nVERSION_ID=41\nVARIANT_ID=atomic.host.initrd\n'),
    },
  );
  for (const module of input.loadOrder) {
    const path = `${modRoot}/${module}`;
    addDir(posix.dirname(path));
    entries.push({ path, type: "file", mode: 0o644, data: await readFile(join(input.modulesDir, module)) });
  }
  const cpio = writeCpio(entries, input.mtime);
  return { image: gzipSync(cpio, { level: 6 }), paths: entries.map((e) => e.path) };
}
