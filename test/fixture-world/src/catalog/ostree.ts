import type { PackageVersion, SourcePackage } from "../model.js";
import { bin, smoke, stableOnly, standIn, text } from "./helpers.js";

/** `ostree --version` prints YAML, which callers parse: keep its shape. */
function ostreeScript(version: string): string {
  return `#!/bin/sh
# ostree: stand-in from the atomic-ci fixture world (ostree ${version}).
case "\${1:-}" in
  --version)
    echo "libostree:"
    echo " Version: '${version}'"
    echo " Git: fixture"
    echo " Features:"
    echo "  - libcurl"
    echo "  - gpgme" ;;
  *) echo "ostree (fixture stand-in of ostree ${version}) $*" ;;
esac
`;
}

const RPM_OSTREE_STATUS = `  status)
    . /usr/lib/os-release
    echo "State: idle"
    echo "Deployments:"
    echo "* fedora:fedora/\${VERSION_ID}/x86_64/atomic-host"
    echo "      Version: \${VERSION_ID} (fixture)" ;;
`;

export function ostreePackages(): SourcePackage[] {
  const ostreeVersions: PackageVersion[] = [
    { version: "2024.7", repo: "stable", date: "2024-10-09T08:00:00Z", changelog: "Update to 2024.7" },
    { version: "2024.8", repo: "stable", date: "2024-10-21T08:00:00Z", changelog: "Update to 2024.8" },
    { version: "2024.9", repo: "candidates", date: "2024-11-04T08:00:00Z", changelog: "Update to 2024.9" },
  ];
  return [
    {
      name: "ostree",
      summary: "Tool for managing bootable, immutable filesystem trees (stand-in)",
      description: "The ostree CLI stand-in and the libostree placeholder.",
      license: "LGPL-2.0-or-later",
      url: "https://ostreedev.github.io/ostree/",
      arch: "x86_64",
      tests: "tmt",
      // Its smoke test also runs inside the booted qcow2 (the image gate).
      testTags: ["image"],
      versions: ostreeVersions,
      binaries: (v) => [
        {
          name: "ostree",
          summary: "ostree CLI",
          requires: ["ostree-libs = %{version}-%{release}"],
          files: [bin("/usr/bin/ostree", ostreeScript(v.version))],
        },
        {
          name: "ostree-libs",
          summary: "libostree",
          provides: ["libostree-1.so.1()(64bit)"],
          files: [text("/usr/lib64/libostree-1.so.1.fixture", `libostree ${v.version}\n`)],
        },
      ],
      smoke: (v) =>
        smoke(
          "ostree",
          `check version sh -c "ostree --version | grep -q \\"Version: '${v.version}'\\""
check libs [ -f /usr/lib64/libostree-1.so.1.fixture ]`,
        ),
    },
    {
      name: "rpm-ostree",
      summary: "Hybrid image/package system (stand-in)",
      description: "rpm-ostree CLI stand-in.",
      license: "LGPL-2.0-or-later",
      url: "https://github.com/coreos/rpm-ostree",
      arch: "x86_64",
      tests: "tmt",
      testRequires: ["ostree"],
      versions: [
        { version: "2024.8", repo: "stable", date: "2024-10-22T08:00:00Z", changelog: "Update to 2024.8" },
        {
          version: "2024.9",
          repo: "candidates",
          date: "2024-11-04T09:00:00Z",
          changelog: "Update to 2024.9 (needs libostree 2024.9)",
          commitBody: "Depends-On: {commit:ostree@2024.9}",
          needs: ["ostree-2024.9-1.fc41"],
        },
      ],
      binaries: (v) => [
        {
          name: "rpm-ostree",
          summary: "rpm-ostree CLI",
          requires: [`ostree-libs >= ${v.version === "2024.9" ? "2024.9" : "2024.7"}`, "rpm-ostree-libs = %{version}-%{release}", "bubblewrap"],
          files: [bin("/usr/bin/rpm-ostree", standIn("rpm-ostree", "rpm-ostree", v.version, RPM_OSTREE_STATUS))],
        },
        { name: "rpm-ostree-libs", summary: "librpmostree", files: [text("/usr/lib64/librpmostree-1.so.1.fixture", `librpmostree ${v.version}\n`)] },
      ],
      smoke: (v) =>
        smoke(
          "rpm-ostree",
          `check version sh -c 'rpm-ostree --version | grep -q ${v.version}'
check status sh -c 'rpm-ostree status | grep -q "^State: idle"'`,
        ),
    },
    {
      name: "bubblewrap",
      summary: "Core execution tool for unprivileged containers (stand-in)",
      description: "bwrap stand-in.",
      license: "LGPL-2.0-or-later",
      url: "https://github.com/containers/bubblewrap",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("0.10.0", "2024-10-10T08:00:00Z"),
      binaries: () => [{ name: "bubblewrap", summary: "bwrap", files: [bin("/usr/bin/bwrap", standIn("bwrap", "bubblewrap", "0.10.0"))] }],
      smoke: () => smoke("bubblewrap", "check version sh -c 'bwrap --version | grep -q 0.10.0'"),
    },
  ];
}
