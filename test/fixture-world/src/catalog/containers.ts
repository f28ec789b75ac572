import type { PackageVersion, SourcePackage } from "../model.js";
import { bin, smoke, stableOnly, standIn, text } from "./helpers.js";

const BROKEN_PODMAN = "5.3.0";

/**
 * The podman stand-in. There are no images in the fixture world, so `run IMAGE CMD...` runs
 * CMD in the host tree after checking the OCI runtime is there. 5.3.0 carries the regression
 * its own tests catch: every `run` fails in the runtime.
 */
function podmanScript(version: string): string {
  const run =
    version === BROKEN_PODMAN
      ? `    echo "Error: OCI runtime error: crun: cannot set up cgroup for \\"$image\\": unknown cgroup manager \\"systemd-5.3\\"" >&2
    exit 126 ;;`
      : `    command -v crun >/dev/null || { echo "Error: default OCI runtime \\"crun\\" not found: invalid argument" >&2; exit 125; }
    "$@" ;;`;
  return `#!/bin/sh
# podman: stand-in from the atomic-ci fixture world (podman ${version}).
case "\${1:-}" in
  --version|version) echo "podman version ${version}" ;;
  info)
    echo "host:"
    echo "  ociRuntime:"
    echo "    name: crun"
    echo "version:"
    echo "  Version: ${version}" ;;
  run)
    shift
    while [ $# -gt 0 ]; do
      case "$1" in -*) shift ;; *) break ;; esac
    done
    image=\${1:?podman run: an image is required}
    shift
${run}
  *) echo "podman (fixture stand-in of podman ${version}) $*" ;;
esac
`;
}

export function containerPackages(): SourcePackage[] {
  const podmanVersions: PackageVersion[] = [
    { version: "5.1.2", repo: "stable", date: "2024-10-09T12:00:00Z", changelog: "Update to 5.1.2" },
    { version: "5.2.5", repo: "stable", date: "2024-10-20T12:00:00Z", changelog: "Update to 5.2.5" },
    {
      version: BROKEN_PODMAN,
      repo: "candidates",
      date: "2024-11-07T12:00:00Z",
      changelog: `Update to ${BROKEN_PODMAN}`,
      broken: { kind: "own-tests", detail: "podman 5.3.0 cannot run any container: its own dist-git smoke test (run-container) fails" },
    },
  ];
  return [
    {
      name: "podman",
      epoch: 5,
      summary: "Manage Pods, Containers and Container Images (stand-in)",
      description: "podman stand-in; see the fixture world docs for what `run` does.",
      license: "Apache-2.0",
      url: "https://podman.io",
      arch: "x86_64",
      tests: "tmt",
      testRequires: ["podman", "crun"],
      versions: podmanVersions,
      binaries: (v) => [
        {
          name: "podman",
          summary: "podman",
          requires: ["conmon >= 2:2.1.7", "oci-runtime", "container-selinux", "containers-common >= 5:0.60"],
          files: [bin("/usr/bin/podman", podmanScript(v.version))],
        },
      ],
      smoke: () =>
        smoke(
          "podman",
          `check version sh -c 'podman --version | grep -q "^podman version "'
check run-container sh -c '[ "$(podman run --rm registry.fedoraproject.org/fedora-minimal:41 echo hello)" = hello ]'
check info sh -c 'podman info | grep -q "name: crun"'`,
        ),
    },
    {
      name: "crun",
      summary: "OCI runtime written in C (stand-in)",
      description: "crun stand-in.",
      license: "GPL-2.0-or-later",
      url: "https://github.com/containers/crun",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("1.17", "2024-10-10T12:00:00Z"),
      binaries: () => [{ name: "crun", summary: "crun", provides: ["oci-runtime"], files: [bin("/usr/bin/crun", standIn("crun", "crun", "1.17"))] }],
      smoke: () => smoke("crun", "check version sh -c 'crun --version | grep -q 1.17'"),
    },
    {
      name: "conmon",
      epoch: 2,
      summary: "OCI container runtime monitor (stand-in)",
      description: "conmon stand-in.",
      license: "Apache-2.0",
      url: "https://github.com/containers/conmon",
      arch: "x86_64",
      tests: "sti",
      versions: stableOnly("2.1.12", "2024-10-10T12:10:00Z"),
      binaries: () => [{ name: "conmon", summary: "conmon", files: [bin("/usr/bin/conmon", standIn("conmon", "conmon", "2.1.12"))] }],
      smoke: () => smoke("conmon", "check version sh -c 'conmon --version | grep -q 2.1.12'"),
    },
    {
      name: "containers-common",
      epoch: 5,
      summary: "Common configuration for the containers tools",
      description: "policy.json, registries.conf and containers.conf.",
      license: "Apache-2.0",
      url: "https://github.com/containers/common",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly("0.60.4", "2024-10-10T12:20:00Z"),
      binaries: () => [
        {
          name: "containers-common",
          summary: "Container configuration",
          files: [
            text("/etc/containers/policy.json", '{"default": [{"type": "insecureAcceptAnything"}]}\n'),
            text("/etc/containers/registries.conf", 'unqualified-search-registries = ["registry.fedoraproject.org", "quay.io"]\n'),
            text("/usr/share/containers/containers.conf", '[engine]\nruntime = "crun"\n'),
          ],
        },
      ],
      smoke: () => smoke("containers-common", "check registries grep -q registry.fedoraproject.org /etc/containers/registries.conf\ncheck policy [ -f /etc/containers/policy.json ]"),
    },
    {
      name: "container-selinux",
      epoch: 2,
      summary: "SELinux policies for container runtimes (placeholder)",
      description: "The container policy module placeholder.",
      license: "GPL-2.0-only",
      url: "https://github.com/containers/container-selinux",
      arch: "noarch",
      tests: "sti",
      versions: stableOnly("2.233.0", "2024-10-11T12:00:00Z"),
      binaries: () => [
        {
          name: "container-selinux",
          summary: "Container SELinux policy",
          requires: ["selinux-policy >= 41.1", "selinux-policy-targeted >= 41.1"],
          files: [text("/usr/share/selinux/packages/container.pp.fixture", "placeholder for the container policy module\n")],
        },
      ],
      smoke: () => smoke("container-selinux", "check module [ -f /usr/share/selinux/packages/container.pp.fixture ]"),
    },
  ];
}
