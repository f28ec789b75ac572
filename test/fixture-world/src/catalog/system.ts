import type { SourcePackage } from "../model.js";
import { bin, smoke, stableOnly, standIn, text, unit } from "./helpers.js";

const OCT = "2024-10-";

/**
 * The systemd stand-in. As PID 1 it mounts the API file systems, runs the boot hooks a test
 * drops into /usr/lib/systemd/fixture-boot.d or /etc/fixture-boot.d, and powers off: enough
 * for a boot test to prove a composed tree came up.
 */
const SYSTEMD = `#!/bin/sh
# systemd stand-in from the atomic-ci fixture world (systemd 256.7).
if [ "$$" != 1 ]; then
  case "\${1:-}" in
    --version) echo "systemd 256 (256.7-1.fc41)"; echo "+FIXTURE" ;;
    *) echo "systemd (fixture stand-in): not PID 1, nothing to do" ;;
  esac
  exit 0
fi
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run 2>/dev/null
. /usr/lib/os-release
echo "Welcome to $PRETTY_NAME!"
for hook in /usr/lib/systemd/fixture-boot.d/* /etc/fixture-boot.d/*; do
  [ -x "$hook" ] && "$hook"
done
echo "Reached target multi-user.target (fixture)"
sync
poweroff -f
`;

const SYSTEMCTL = standIn(
  "systemctl",
  "systemd",
  "256.7",
  `  is-enabled)
    for dir in /etc/systemd/system /usr/lib/systemd/system; do
      [ -f "$dir/\${2:-none}" ] && { echo enabled; exit 0; }
    done
    echo "Failed to get unit file state for \${2:-}: No such file or directory" >&2; exit 1 ;;
  is-system-running) echo running ;;
`,
);

export function systemPackages(): SourcePackage[] {
  return [
    {
      name: "systemd",
      summary: "System and Service Manager (stand-in)",
      description: "A PID 1 script that runs boot hooks and powers off, plus systemctl.",
      license: "LGPL-2.1-or-later",
      url: "https://systemd.io",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("256.7", `${OCT}03T10:00:00Z`),
      binaries: () => [
        {
          name: "systemd",
          summary: "System and Service Manager",
          requires: ["systemd-libs = %{version}-%{release}", "util-linux", "bash"],
          provides: ["/sbin/init", "systemd-units"],
          files: [
            bin("/usr/lib/systemd/systemd", SYSTEMD),
            bin("/usr/bin/systemctl", SYSTEMCTL),
            { path: "/usr/sbin/init", symlink: "../lib/systemd/systemd" },
            { path: "/usr/lib/systemd/system", dir: true },
            { path: "/usr/lib/systemd/fixture-boot.d", dir: true },
            { path: "/etc/systemd/system", dir: true },
            text("/usr/lib/systemd/system/multi-user.target", "[Unit]\nDescription=Multi-User System\n"),
            { path: "/usr/lib/systemd/system/default.target", symlink: "multi-user.target" },
          ],
        },
        {
          name: "systemd-libs",
          summary: "systemd libraries",
          provides: ["libsystemd.so.0()(64bit)"],
          files: [text("/usr/lib64/libsystemd.so.0.fixture", "placeholder for libsystemd.so.0\n")],
        },
      ],
      smoke: () =>
        smoke(
          "systemd",
          `check version sh -c 'systemctl --version | grep -q "^systemctl 256.7"'
check pid1-binary [ -x /usr/lib/systemd/systemd ]
check init-link [ "$(readlink /usr/sbin/init)" = ../lib/systemd/systemd ]
check default-target [ -e /usr/lib/systemd/system/default.target ]`,
        ),
    },
    {
      name: "dbus-broker",
      summary: "Linux D-Bus Message Broker (stand-in)",
      description: "A unit and a stand-in binary.",
      license: "Apache-2.0",
      url: "https://github.com/bus1/dbus-broker",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("36", `${OCT}03T10:10:00Z`),
      binaries: () => [
        {
          name: "dbus-broker",
          summary: "D-Bus broker",
          requires: ["systemd"],
          provides: ["dbus"],
          files: [bin("/usr/bin/dbus-broker", standIn("dbus-broker", "dbus-broker", "36")), unit("dbus-broker.service", "D-Bus System Message Bus", "/usr/bin/dbus-broker")],
        },
      ],
      smoke: () => smoke("dbus-broker", "check version sh -c 'dbus-broker --version | grep -q 36'\ncheck unit systemctl is-enabled dbus-broker.service"),
    },
    {
      name: "linux-firmware",
      summary: "Firmware files used by the Linux kernel (placeholder)",
      description: "No firmware: virtio needs none. No tests, and its gating.yaml requires none.",
      license: "LicenseRef-Callaway-Redistributable",
      url: "https://www.kernel.org",
      arch: "noarch",
      tests: "none",
      versions: stableOnly("20241017", `${OCT}17T07:00:00Z`),
      binaries: () => [{ name: "linux-firmware", summary: "Firmware", files: [text("/usr/lib/firmware/README.fixture", "No firmware in the fixture world.\n")] }],
    },
    {
      name: "grub2",
      epoch: 1,
      summary: "Bootloader with support for Linux and more (stand-in)",
      description: "grub2-mkconfig and grub2-install stand-ins; bootupd drives them on a real host.",
      license: "GPL-3.0-or-later",
      url: "https://www.gnu.org/software/grub",
      arch: "x86_64",
      tests: "sti",
      versions: [{ version: "2.12", release: 10, repo: "stable", date: `${OCT}04T11:00:00Z`, changelog: "Rebuild with the fedora-41 grub.cfg defaults" }],
      binaries: () => [
        {
          name: "grub2",
          summary: "Bootloader (meta package)",
          requires: ["grub2-pc = %{epoch}:%{version}-%{release}"],
          files: [],
        },
        { name: "grub2-common", summary: "grub2 common layout", noarch: true, files: [{ path: "/usr/share/grub", dir: true }, text("/etc/default/grub", 'GRUB_TIMEOUT=1\nGRUB_CMDLINE_LINUX="console=ttyS0"\n')] },
        {
          name: "grub2-tools",
          summary: "grub2 tools",
          requires: ["grub2-common = %{epoch}:%{version}-%{release}"],
          files: [bin("/usr/sbin/grub2-mkconfig", standIn("grub2-mkconfig", "grub2", "2.12")), bin("/usr/sbin/grub2-install", standIn("grub2-install", "grub2", "2.12"))],
        },
        {
          name: "grub2-pc",
          summary: "grub2 for BIOS machines",
          requires: ["grub2-tools = %{epoch}:%{version}-%{release}"],
          files: [text("/usr/lib/grub/i386-pc/README.fixture", "The i386-pc modules would be here.\n")],
        },
      ],
      smoke: () => smoke("grub2", "check mkconfig sh -c 'grub2-mkconfig --version | grep -q 2.12'\ncheck defaults grep -q console=ttyS0 /etc/default/grub"),
    },
    {
      name: "bootupd",
      summary: "Bootloader updater (stand-in)",
      description: "bootupctl stand-in.",
      license: "Apache-2.0",
      url: "https://github.com/coreos/bootupd",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("0.2.24", `${OCT}04T11:10:00Z`),
      binaries: () => [
        {
          name: "bootupd",
          summary: "Bootloader updater",
          requires: ["grub2-tools"],
          files: [bin("/usr/bin/bootupctl", standIn("bootupctl", "bootupd", "0.2.24", '  status) echo "No components installed." ;;\n')), { path: "/usr/libexec/bootupd", symlink: "../bin/bootupctl" }],
        },
      ],
      smoke: () => smoke("bootupd", "check version sh -c 'bootupctl --version | grep -q 0.2.24'"),
    },
    {
      name: "selinux-policy",
      summary: "SELinux policy configuration (placeholder)",
      description: "The configuration and an empty targeted policy.",
      license: "GPL-2.0-or-later",
      url: "https://github.com/fedora-selinux/selinux-policy",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly("41.24", `${OCT}05T12:00:00Z`),
      binaries: () => [
        { name: "selinux-policy", summary: "SELinux policy configuration", files: [text("/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n")] },
        {
          name: "selinux-policy-targeted",
          summary: "SELinux targeted policy",
          requires: ["selinux-policy = %{version}-%{release}"],
          files: [text("/etc/selinux/targeted/policy/policy.33", "placeholder for the compiled policy\n")],
        },
      ],
      smoke: () => smoke("selinux-policy", "check enforcing grep -q '^SELINUX=enforcing' /etc/selinux/config\ncheck targeted [ -f /etc/selinux/targeted/policy/policy.33 ]"),
    },
    {
      name: "openssh",
      summary: "An open source implementation of SSH (stand-in)",
      description: "sshd and ssh stand-ins with real-looking configuration.",
      license: "BSD-3-Clause",
      url: "https://www.openssh.com",
      arch: "x86_64",
      tests: "sti",
      versions: [{ version: "9.8p1", release: 3, repo: "stable", date: `${OCT}06T13:00:00Z`, changelog: "Rebuild for the fixture world" }],
      binaries: () => [
        { name: "openssh", summary: "Common files", files: [bin("/usr/bin/ssh-keygen", standIn("ssh-keygen", "openssh", "9.8p1")), { path: "/etc/ssh", dir: true }] },
        {
          name: "openssh-server",
          summary: "The SSH daemon",
          requires: ["openssh = %{version}-%{release}", "systemd"],
          files: [
            bin("/usr/sbin/sshd", standIn("sshd", "openssh", "9.8p1", '  -t) [ -f /etc/ssh/sshd_config ] ;;\n')),
            { path: "/etc/ssh/sshd_config", content: "PermitRootLogin prohibit-password\nPasswordAuthentication no\n", mode: 0o600 },
            unit("sshd.service", "OpenSSH server daemon", "/usr/sbin/sshd -D"),
          ],
        },
        {
          name: "openssh-clients",
          summary: "SSH clients",
          requires: ["openssh = %{version}-%{release}"],
          files: [bin("/usr/bin/ssh", standIn("ssh", "openssh", "9.8p1"))],
        },
      ],
      smoke: () =>
        smoke("openssh", "check config-valid sshd -t\ncheck client sh -c 'ssh -V | grep -q 9.8p1'\ncheck unit systemctl is-enabled sshd.service"),
    },
    {
      name: "NetworkManager",
      epoch: 1,
      summary: "Network connection manager (stand-in)",
      description: "nmcli and NetworkManager stand-ins.",
      license: "GPL-2.0-or-later",
      url: "https://networkmanager.dev",
      arch: "x86_64",
      tests: "sti",
      versions: [
        { version: "1.48.10", repo: "stable", date: `${OCT}07T14:00:00Z`, changelog: "Update to 1.48.10" },
        {
          version: "1.48.12",
          repo: "candidates",
          date: "2024-11-06T09:00:00Z",
          changelog: "Update to 1.48.12 (IPv6 neighbour discovery through libndp)",
          broken: {
            kind: "depsolve",
            missing: "libndp >= 1.9",
            detail: "NetworkManager 1.48.12 requires libndp >= 1.9, which no repository provides: any compose including it fails to depsolve",
          },
        },
      ],
      binaries: (v) => [
        {
          name: "NetworkManager",
          summary: "Network connection manager",
          requires: [
            "NetworkManager-libnm = %{epoch}:%{version}-%{release}",
            "systemd",
            "dbus-broker",
            ...(v.broken?.kind === "depsolve" ? [v.broken.missing] : []),
          ],
          files: [
            bin("/usr/sbin/NetworkManager", standIn("NetworkManager", "NetworkManager", v.version)),
            bin("/usr/bin/nmcli", standIn("nmcli", "NetworkManager", v.version, '  general) echo "STATE      CONNECTIVITY"; echo "connected  full" ;;\n')),
            unit("NetworkManager.service", "Network Manager", "/usr/sbin/NetworkManager --no-daemon", "dbus-broker.service"),
          ],
        },
        { name: "NetworkManager-libnm", summary: "libnm", provides: ["libnm.so.0()(64bit)"], files: [text("/usr/lib64/libnm.so.0.fixture", `libnm ${v.version}\n`)] },
      ],
      smoke: (v) => smoke("NetworkManager", `check version sh -c 'nmcli --version | grep -q ${v.version}'\ncheck unit systemctl is-enabled NetworkManager.service`),
    },
    {
      name: "chrony",
      summary: "An NTP client/server (stand-in)",
      description: "chronyd stand-in and its configuration.",
      license: "GPL-2.0-only",
      url: "https://chrony-project.org",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("4.6.1", `${OCT}08T15:00:00Z`),
      binaries: () => [
        {
          name: "chrony",
          summary: "NTP client",
          requires: ["systemd"],
          files: [bin("/usr/sbin/chronyd", standIn("chronyd", "chrony", "4.6.1")), text("/etc/chrony.conf", "pool 2.fedora.pool.ntp.org iburst\n"), unit("chronyd.service", "NTP client/server", "/usr/sbin/chronyd")],
        },
      ],
      smoke: () => smoke("chrony", "check config grep -q '^pool ' /etc/chrony.conf\ncheck version sh -c 'chronyd --version | grep -q 4.6.1'"),
    },
  ];
}
