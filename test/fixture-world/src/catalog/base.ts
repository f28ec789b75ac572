import type { FileEntry, SourcePackage } from "../model.js";
import { RELEASEVER } from "../model.js";
import { bin, smoke, stableOnly, standIn, text } from "./helpers.js";

/** The machine's busybox as the fixture packages it. */
export interface BusyboxInput {
  /** Staged copy of the binary (lookaside source). */
  path: string;
  version: string;
  /** Applets linked into /usr/bin (those other packages own are left out). */
  applets: string[];
}

const OCT = "2024-10-";

const dirs = (...paths: string[]): FileEntry[] => paths.map((path) => ({ path, dir: true }));

export function basePackages(busybox: BusyboxInput): SourcePackage[] {
  return [
    {
      name: "filesystem",
      summary: "The basic directory layout for a Linux operating system",
      description: "Directories and usr-merge symlinks every other package installs into.",
      license: "LicenseRef-Fedora-Public-Domain",
      url: "https://pagure.io/filesystem",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly("3.18", `${OCT}01T09:00:00Z`),
      binaries: () => [
        {
          name: "filesystem",
          summary: "The basic directory layout",
          requires: ["setup"],
          files: [
            ...dirs("/boot", "/dev", "/etc", "/home", "/media", "/mnt", "/opt", "/proc", "/run", "/srv", "/sys", "/sysroot"),
            ...dirs("/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share", "/usr/local", "/usr/lib/modules"),
            ...dirs("/var", "/var/lib", "/var/log", "/var/cache", "/etc/pki"),
            { path: "/root", dir: true, mode: 0o550 },
            { path: "/tmp", dir: true, mode: 0o1777 },
            { path: "/var/tmp", dir: true, mode: 0o1777 },
            { path: "/bin", symlink: "usr/bin" },
            { path: "/sbin", symlink: "usr/sbin" },
            { path: "/lib", symlink: "usr/lib" },
            { path: "/lib64", symlink: "usr/lib64" },
          ],
        },
      ],
      smoke: () =>
        smoke(
          "filesystem",
          `check usr-merge-bin [ "$(readlink /bin)" = usr/bin ]
check usr-merge-lib [ "$(readlink /lib64)" = usr/lib64 ]
check sysroot [ -d /sysroot ]`,
        ),
    },
    {
      name: "setup",
      summary: "A set of system configuration and setup files",
      description: "passwd, group, shells, hosts and profile.",
      license: "LicenseRef-Fedora-Public-Domain",
      url: "https://pagure.io/setup",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly("2.15.0", `${OCT}01T09:10:00Z`),
      binaries: () => [
        {
          name: "setup",
          summary: "System configuration files",
          files: [
            text("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\nnobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin\n"),
            text("/etc/group", "root:x:0:\nbin:x:1:\nwheel:x:10:\nnobody:x:65534:\n"),
            text("/etc/shells", "/bin/sh\n/bin/bash\n/usr/bin/sh\n/usr/bin/bash\n"),
            text("/etc/hosts", "127.0.0.1   localhost localhost.localdomain\n::1         localhost localhost.localdomain\n"),
            text("/etc/profile", "export PATH=/usr/local/bin:/usr/bin:/usr/sbin\n"),
          ],
        },
      ],
      smoke: () =>
        smoke("setup", `check root-user grep -q '^root:x:0:0:' /etc/passwd\ncheck shells grep -qx /bin/sh /etc/shells`),
    },
    {
      name: "atomic-host-release",
      summary: "Fedora Atomic Host release files (fixture)",
      description: "os-release for the miniature Atomic Host of the fixture world.",
      license: "MIT",
      url: "https://fedoraproject.org/atomic",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly(String(RELEASEVER), `${OCT}01T09:20:00Z`),
      binaries: () => [
        {
          name: "atomic-host-release",
          summary: "os-release of the fixture Atomic Host",
          provides: ["system-release", `system-release(${RELEASEVER})`, `system-release(releasever) = ${RELEASEVER}`],
          files: [
            text(
              "/usr/lib/os-release",
              `NAME="Fedora Linux"
VERSION="${RELEASEVER} (Atomic Host fixture)"
ID=fedora
VERSION_ID=${RELEASEVER}
VARIANT="Atomic Host"
VARIANT_ID=atomic.host
PLATFORM_ID="platform:f${RELEASEVER}"
PRETTY_NAME="Fedora Linux ${RELEASEVER} (Atomic Host fixture)"
HOME_URL="https://fedoraproject.org/"
`,
            ),
            { path: "/etc/os-release", symlink: "../usr/lib/os-release" },
            text("/etc/fedora-release", `Fedora release ${RELEASEVER} (Atomic Host fixture)\n`),
          ],
        },
      ],
      smoke: () =>
        smoke(
          "atomic-host-release",
          `. /usr/lib/os-release
check version-id [ "$VERSION_ID" = ${RELEASEVER} ]
check variant [ "$VARIANT_ID" = atomic.host ]
check etc-link [ -f /etc/os-release ]`,
        ),
    },
    {
      name: "busybox",
      summary: "Statically linked binary providing simplified versions of system commands",
      description: "The build machine's static busybox, so commands really run inside a composed tree.",
      license: "GPL-2.0-only",
      url: "https://busybox.net",
      arch: "x86_64",
      tests: "sti",
      // The binary is static: no library requirements to generate, and stripping it again is pointless.
      preamble: ["AutoReqProv:    no", "Provides:       busybox-static"],
      sources: [{ name: "busybox", path: busybox.path }],
      versions: stableOnly(busybox.version, `${OCT}01T09:30:00Z`),
      binaries: () => [
        {
          name: "busybox",
          summary: "busybox and its applet links",
          files: [
            { path: "/usr/bin/busybox", source: "busybox", mode: 0o755 },
            ...busybox.applets.map((applet) => ({ path: `/usr/bin/${applet}`, symlink: "busybox" })),
          ],
        },
      ],
      smoke: () =>
        smoke(
          "busybox",
          `check runs sh -c 'busybox 2>&1 | head -n 1 | grep -q BusyBox'
check ls sh -c 'ls / >/dev/null'
check sha256 sh -c '[ "$(echo fixture | sha256sum | cut -c1-8)" = e80b71cd ]'`,
        ),
    },
    {
      name: "bash",
      summary: "The GNU Bourne Again shell (stand-in: busybox sh)",
      description: "Provides /bin/sh and /bin/bash by running busybox's shell.",
      license: "GPL-3.0-or-later",
      url: "https://www.gnu.org/software/bash",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("5.2.32", `${OCT}01T09:40:00Z`),
      binaries: () => [
        {
          name: "bash",
          summary: "The shell",
          requires: ["busybox"],
          provides: ["/bin/sh", "/bin/bash"],
          files: [
            { path: "/usr/bin/sh", symlink: "busybox" },
            bin("/usr/bin/bash", '#!/usr/bin/busybox sh\n# bash stand-in: busybox\'s shell.\nexec /usr/bin/busybox sh "$@"\n'),
          ],
        },
      ],
      smoke: () =>
        smoke(
          "bash",
          `check arithmetic [ "$(bash -c 'echo $((6 * 7))')" = 42 ]
check bin-sh [ -x /bin/sh ]`,
        ),
    },
    {
      name: "coreutils",
      summary: "A set of basic GNU tools (stand-in: busybox applets)",
      description: "Pulls in busybox, whose applets stand in for the GNU tools.",
      license: "GPL-3.0-or-later",
      url: "https://www.gnu.org/software/coreutils",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("9.5", `${OCT}01T09:50:00Z`),
      binaries: () => [
        {
          name: "coreutils",
          summary: "Basic tools",
          requires: ["busybox"],
          provides: ["coreutils-common"],
          files: [text("/usr/share/doc/coreutils/README.fixture", "The busybox applets stand in for coreutils.\n")],
        },
      ],
      smoke: () => smoke("coreutils", `check cat [ "$(echo x | cat)" = x ]\ncheck sort [ "$(printf 'b\\na\\n' | sort | head -n 1)" = a ]`),
    },
    {
      name: "glibc",
      summary: "The GNU libc libraries (stand-in)",
      description: "Nothing in the fixture links dynamically; glibc is here for the dependency graph.",
      license: "LGPL-2.1-or-later",
      url: "https://www.gnu.org/software/glibc",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("2.40", `${OCT}02T08:00:00Z`),
      binaries: () => [
        {
          name: "glibc",
          summary: "The C library",
          requires: ["glibc-common = %{version}-%{release}", "filesystem", "setup"],
          provides: ["libc.so.6()(64bit)", "rtld(GNU_HASH)"],
          files: [text("/etc/ld.so.conf", "include ld.so.conf.d/*.conf\n"), { path: "/etc/ld.so.conf.d", dir: true }],
        },
        {
          name: "glibc-common",
          summary: "Common binaries and locale data for glibc",
          files: [bin("/usr/bin/ldd", standIn("ldd", "glibc", "2.40"))],
        },
        {
          name: "glibc-minimal-langpack",
          summary: "Minimal language packs for glibc",
          requires: ["glibc = %{version}-%{release}"],
          files: [text("/usr/share/locale/C.fixture", "C.UTF-8\n")],
        },
      ],
      smoke: () => smoke("glibc", "check ld-so-conf [ -f /etc/ld.so.conf ]\ncheck ldd sh -c 'ldd --version | grep -q 2.40'"),
    },
    {
      name: "util-linux",
      summary: "A collection of basic system utilities (stand-in)",
      description: "findmnt and lsblk stand-ins; mount and umount come from busybox.",
      license: "GPL-2.0-only",
      url: "https://github.com/util-linux/util-linux",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("2.40.2", `${OCT}02T08:10:00Z`),
      binaries: () => [
        {
          name: "util-linux",
          summary: "System utilities",
          requires: ["busybox"],
          provides: ["util-linux-core"],
          files: [bin("/usr/bin/findmnt", standIn("findmnt", "util-linux", "2.40.2")), bin("/usr/bin/lsblk", standIn("lsblk", "util-linux", "2.40.2"))],
        },
      ],
      smoke: () => smoke("util-linux", "check findmnt sh -c 'findmnt --version | grep -q 2.40.2'"),
    },
    {
      name: "sudo",
      summary: "Allows restricted root access for specified users (stand-in)",
      description: "Runs the command as is: everything in the fixture host runs as root.",
      license: "ISC",
      url: "https://www.sudo.ws",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("1.9.15", `${OCT}02T08:20:00Z`),
      binaries: () => [
        {
          name: "sudo",
          summary: "sudo",
          files: [
            bin("/usr/bin/sudo", '#!/bin/sh\n# sudo stand-in: everything runs as root in the fixture host.\n[ "${1:-}" = -V ] && { echo "Sudo version 1.9.15p5"; exit 0; }\nexec "$@"\n'),
            { path: "/etc/sudoers", content: "root ALL=(ALL) ALL\n%wheel ALL=(ALL) ALL\n", mode: 0o440 },
          ],
        },
      ],
      smoke: () => smoke("sudo", `check runs [ "$(sudo echo ok)" = ok ]\ncheck sudoers [ -f /etc/sudoers ]`),
    },
    {
      name: "tzdata",
      summary: "Timezone data",
      description: "Only UTC, as a placeholder.",
      license: "LicenseRef-Fedora-Public-Domain",
      url: "https://www.iana.org/time-zones",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly("2024b", `${OCT}02T08:30:00Z`),
      binaries: () => [{ name: "tzdata", summary: "Timezone data", files: [text("/usr/share/zoneinfo/UTC", "TZif placeholder: UTC\n")] }],
      smoke: () => smoke("tzdata", "check utc [ -f /usr/share/zoneinfo/UTC ]"),
    },
    {
      name: "ca-certificates",
      summary: "The Mozilla CA root certificate bundle (placeholder)",
      description: "An empty bundle: nothing in the fixture talks TLS.",
      license: "MIT",
      url: "https://fedoraproject.org/wiki/CA-Certificates",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly("2024.2.69_v8.0.401", `${OCT}02T08:40:00Z`),
      binaries: () => [
        {
          name: "ca-certificates",
          summary: "CA certificates",
          files: [text("/etc/pki/tls/certs/ca-bundle.crt", "# fixture world: no certificates\n"), { path: "/etc/pki/tls", dir: true }, { path: "/etc/pki/tls/certs", dir: true }],
        },
      ],
      smoke: () => smoke("ca-certificates", "check bundle [ -f /etc/pki/tls/certs/ca-bundle.crt ]"),
    },
  ];
}
