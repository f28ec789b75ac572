import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gitAdd, gitCommit, gitInit, type ToolContext } from "@atomic-ci/tools";
import { HOST_PACKAGES } from "./catalog/index.js";
import { smoke } from "./catalog/helpers.js";
import type { WorldRpm } from "./manifest.js";
import { BASEARCH, RELEASEVER } from "./model.js";
import { PACKAGER } from "./spec.js";

export const HOST_DEFINITION_NAME = "fedora-atomic";
export const HOST_DEFINITION_BRANCH = "f41";
export const BASE_REF = "fedora/41/${basearch}/atomic-host";
export const TREEFILE = "fedora-atomic-host.yaml";
export const BASE_TREEFILE = "fedora-atomic-host-base.yaml";
export const LOCKFILE = `manifest-lock.${BASEARCH}.json`;
export const OVERRIDES = "manifest-lock.overrides.yaml";
/** Test cases the compose gate requires (what the pipeline reports for a compose). */
export const COMPOSE_TEST_CASES = ["atomic-ci.compose.host-tests.functional", "atomic-ci.compose.package-tests.functional"];
/** Test cases the image gate requires: the tests run inside the booted qcow2 (docs/images.md §8). */
export const IMAGE_TEST_CASES = ["atomic-ci.compose.image-tests.functional"];

export interface HostDefinitionInput {
  dir: string;
  repos: { id: string; name: string; url: string }[];
  /** Entries of the top-level treefile's `packages` (the base file's are HOST_PACKAGES.base). */
  topPackages: readonly string[];
  /** A `ref` in the top-level file, overriding the base file's. */
  topRef?: string;
  /** Packages the lockfile pins: one per name. */
  lock: readonly WorldRpm[];
  /** When the lockfile was generated and the repos' metadata was made (ISO). */
  generated: string;
  date: Date;
  /** containers.yaml: the key container images (containers-oci.ts); none when absent. */
  containers?: string;
}

/** Write the host definition repository (one commit) and return its commit id. */
export async function writeHostDefinition(input: HostDefinitionInput, ctx: ToolContext): Promise<string> {
  const files = hostDefinitionFiles(input);
  await gitInit(input.dir, { ...ctx, branch: HOST_DEFINITION_BRANCH });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(input.dir, path)), { recursive: true });
    await writeFile(join(input.dir, path), content, { mode: path.endsWith(".sh") ? 0o755 : 0o644 });
  }
  await gitAdd(input.dir, ctx);
  return gitCommit(input.dir, {
    ...ctx,
    author: { name: PACKAGER.name, email: PACKAGER.email, date: input.date },
    message: "Fedora Atomic Host 41 (fixture world)\n\nTreefiles, the stable lockfile, host tests and gating policies.\n",
  });
}

export function hostDefinitionFiles(input: HostDefinitionInput): Record<string, string> {
  const files: Record<string, string> = {
    [BASE_TREEFILE]: baseTreefile(input.repos.map((r) => r.id)),
    [TREEFILE]: topTreefile(input.topPackages, input.topRef),
    [LOCKFILE]: lockfile(input.lock, input.repos.map((r) => r.id), input.generated),
    [OVERRIDES]: OVERRIDES_TEXT,
    "tests/tests.yml": HOST_TESTS_YML,
    "tests/host-smoke.sh": HOST_SMOKE,
    "tests/containers.sh": HOST_CONTAINERS,
    "policies/compose-gate.yaml": COMPOSE_GATE,
    "policies/package-gate.yaml": PACKAGE_GATE,
    [DELIVERY_POLICY]: DELIVERY_POLICY_TEXT,
    "policies/image-gate.yaml": IMAGE_GATE,
  };
  if (input.containers !== undefined) files["containers.yaml"] = input.containers;
  for (const repo of input.repos) {
    // An absolute path of this machine: generated into the cache with the world, never into the project.
    files[`${repo.id}.repo`] = `[${repo.id}]\nname=${repo.name}\nbaseurl=${repo.url}\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\n`;
  }
  return files;
}

/** The publisher's delivery policy (docs/publishing.md, "The delivery policy"). */
export const DELIVERY_POLICY = "delivery.yaml";

const DELIVERY_POLICY_TEXT = `# Delivery policy of the publisher (docs/publishing.md, "The delivery policy"), read at each
# evaluation: a commit here (a freeze, a schedule) takes effect without a restart.
streams:
  # Every compose that passes the gates, at any time.
  testing:
    schedule: {timezone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], hours: {from: 0, to: 24}}
  # What spent a day in testing.
  stable:
    from: testing
    soak: 1d
    schedule: {timezone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], hours: {from: 0, to: 24}}
freezes: []
barriers: []
deadends: []
`;

function baseTreefile(repoIds: readonly string[]): string {
  return `# The miniature Fedora Atomic Host of the atomic-ci fixture world: what every variant has.
ref: ${BASE_REF}
releasever: ${RELEASEVER}
repos:
${repoIds.map((id) => `  - ${id}`).join("\n")}
automatic-version-prefix: "${RELEASEVER}.<date:%Y%m%d>.dev"
add-commit-metadata:
  fedora-atomic-host.fixture-world: true
packages:
${HOST_PACKAGES.base.map((p) => `  - ${p}`).join("\n")}
packages-${BASEARCH}:
${HOST_PACKAGES.x86_64.map((p) => `  - ${p}`).join("\n")}
`;
}

function topTreefile(packages: readonly string[], ref?: string): string {
  return `# The host the pipeline composes: the base plus a container runtime and an application.
include: ${BASE_TREEFILE}
${ref ? `ref: ${ref}\n` : ""}packages:
${packages.map((p) => `  - ${p}`).join("\n")}
add-commit-metadata:
  fedora-atomic-host.variant: atomic-host
`;
}

/** rpm-ostree's lockfile: every package at its exact EVRA with the repodata digest. */
function lockfile(lock: readonly WorldRpm[], repoIds: readonly string[], generated: string): string {
  const packages = Object.fromEntries([...lock].sort((a, b) => (a.name < b.name ? -1 : 1)).map((p) => [p.name, { evra: p.evra, digest: p.digest }]));
  const rpmmdRepos = Object.fromEntries(repoIds.map((id) => [id, { generated }]));
  return `${JSON.stringify({ metadata: { generated, rpmmd_repos: rpmmdRepos }, packages }, null, 2)}\n`;
}

const OVERRIDES_TEXT = `# Overrides applied on top of ${LOCKFILE} (coreos-assembler's format).
# Pin an older build (a pin needs a reason):
#   <name>: {evr: "<[E:]V-R>", metadata: {type: pin, reason: "<tracker URL>"}}
# Fast-track a candidate (dropped once the lockfile reaches that version):
#   <name>: {evr: "<[E:]V-R>", metadata: {type: fast-track, bodhi: "<update URL>"}}
packages: {}
`;

const HOST_TESTS_YML = `# Host-level tests, run on every compose of this definition (STI, tagged atomic);
# those also tagged image run inside the booted qcow2 as well.
- hosts: localhost
  roles:
    - role: standard-test-basic
      tags:
        - atomic
        - image
      tests:
        - host-smoke:
            dir: .
            run: ./host-smoke.sh
    - role: standard-test-basic
      tags:
        - atomic
      tests:
        - containers:
            dir: .
            run: ./containers.sh
`;

const HOST_SMOKE = smoke(
  "host",
  `. /usr/lib/os-release
check os-release [ "$VARIANT_ID" = atomic.host ]
check shell [ "$(sh -c 'echo ok')" = ok ]
check kernel sh -c 'ls /usr/lib/modules/*/vmlinuz >/dev/null'
check initramfs sh -c 'ls /usr/lib/modules/*/initramfs.img >/dev/null'
check init [ -x /usr/lib/systemd/systemd ]
check ostree sh -c 'ostree --version | grep -q libostree'
check sshd-config sshd -t`,
);

const HOST_CONTAINERS = smoke(
  "containers",
  `check runtime sh -c 'podman info | grep -q "name: crun"'
check run sh -c '[ "$(podman run --rm registry.fedoraproject.org/fedora-minimal:41 echo hello)" = hello ]'`,
);

const COMPOSE_GATE = `# Gates a compose of the host before delivery: host tests and package tests on the compose.
--- !Policy
id: atomic-host-compose-gate
product_versions:
  - fedora-${RELEASEVER}
decision_contexts:
  - atomic_ci_compose_gate
subject_type: compose
rules:
${COMPOSE_TEST_CASES.map((name) => `  - !PassingTestCaseRule {test_case_name: ${name}}`).join("\n")}
`;

const PACKAGE_GATE = `# Gates a package build entering the host: whatever the package's own gating.yaml requires.
--- !Policy
id: atomic-host-package-gate
product_versions:
  - fedora-*
decision_contexts:
  - bodhi_update_push_testing
subject_type: koji_build
rules:
  - !RemoteRule {}
`;

const IMAGE_GATE = `# Gates a compose of the host on its qcow2: boot-sanity and the tests tagged image, run in the booted image.
--- !Policy
id: atomic-host-image-gate
product_versions:
  - fedora-${RELEASEVER}
decision_contexts:
  - atomic_ci_image_gate
subject_type: compose
rules:
${IMAGE_TEST_CASES.map((name) => `  - !PassingTestCaseRule {test_case_name: ${name}}`).join("\n")}
`;
