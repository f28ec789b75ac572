// Discovery against the fixture world's real dist-git and definition repositories: files are
// read at the requested commit, never from the work tree (which sits at the newest version).
import { join } from "node:path";
import { beforeAll, afterAll, describe, expect, it } from "vitest";
import { buildFixtureWorld, findBuild, latestBuild, type FixtureWorld } from "../fixture-world/src/index.js";
import { discoverHostTests, discoverPackageTests, DiscoveryError } from "@atomic-ci/testing";
import { cleanup, ctx, distGit, scratch, TMT_PLAN } from "./support.js";

let world: FixtureWorld;

beforeAll(async () => {
  world = await buildFixtureWorld();
});
afterAll(cleanup);

const discover = (nvr: string) => {
  const build = findBuild(world, nvr);
  return discoverPackageTests({ repo: build.distGit.path, rev: build.distGit.commit, package: build.name }, ctx);
};

describe("discovery in the fixture world", () => {
  it("finds bash's STI test (standard-test-basic, tagged atomic) at its build's commit", async () => {
    const build = findBuild(world, "bash-5.2.32-1.fc41");
    const found = await discover(build.nvr);
    expect(found.commit).toBe(build.distGit.commit);
    expect(found.tests).toEqual([
      { id: "bash/sti/tests/tests.yml/simple", package: "bash", source: "sti", name: "simple", dir: "tests", command: ["/usr/bin/sh", "-c", "./smoke.sh"], requires: ["bash"], timeoutMs: 300_000, allowedReruns: 0, environment: {}, commit: build.distGit.commit, file: "tests/tests.yml", tags: ["atomic"] },
    ]);
  });

  it("finds podman's tmt test through its plan, with require and duration, at each version's commit", async () => {
    for (const nvr of ["podman-5.2.5-1.fc41", "podman-5.3.0-1.fc41"]) {
      const { tests } = await discover(nvr);
      expect(tests.map((t) => [t.id, t.dir, t.command, t.requires, t.timeoutMs, t.commit])).toEqual([
        ["podman/tmt/plans/smoke/tests", "tests", ["/usr/bin/sh", "-c", "./smoke.sh"], ["podman", "crun"], 300_000, findBuild(world, nvr).distGit.commit],
      ]);
    }
  });

  it("finds tests for every host package but linux-firmware, in the format the world declares", async () => {
    const kinds: Record<string, string> = {};
    for (const pkg of world.packages) {
      const { tests } = await discover(latestBuild(world, pkg.name).nvr);
      kinds[pkg.name] = tests.length === 0 ? "none" : [...new Set(tests.map((t) => t.source))].join(",");
    }
    expect(kinds).toEqual(Object.fromEntries(world.packages.map((p) => [p.name, p.tests])));
    expect(kinds["linux-firmware"]).toBe("none");
  });

  it("finds the host definition's own tests", async () => {
    const def = world.hostDefinition;
    const { tests } = await discoverHostTests({ repo: def.path, rev: def.commit, name: def.name }, ctx);
    expect(tests.map((t) => [t.id, t.source, t.dir, t.command[2]])).toEqual([
      ["fedora-atomic/host/tests/tests.yml/host-smoke", "host", "tests", "./host-smoke.sh"],
      ["fedora-atomic/host/tests/tests.yml/containers", "host", "tests", "./containers.sh"],
    ]);
  });
});

describe("discovery at a commit", () => {
  it("sees a later commit's test change only at that commit, whatever the work tree holds", async () => {
    const dir = join(await scratch("discover"), "pkg");
    const [first = "", second = ""] = await distGit(dir, [
      { ...TMT_PLAN, "tests/main.fmf": "duration: 5m\n/a:\n  test: ./a.sh\n" },
      { "tests/main.fmf": "duration: 1h\n/a:\n  test: ./a.sh\n/b:\n  test: ./b.sh\n  duration: 30s\n" },
    ]);
    const at = async (rev: string) => (await discoverPackageTests({ repo: dir, rev, package: "pkg" }, ctx)).tests.map((t) => [t.name, t.timeoutMs]);
    expect(await at(first)).toEqual([["/tests/a", 300_000]]);
    expect(await at(second)).toEqual([["/tests/a", 3_600_000], ["/tests/b", 30_000]]);
  });

  it("rejects an Ansible construct outside the subset with the file and key", async () => {
    const dir = join(await scratch("discover"), "bad");
    const [commit = ""] = await distGit(dir, [{ "tests/tests_extra.yml": "- hosts: localhost\n  tags: [atomic]\n  tasks:\n    - shell: id\n" }]);
    const found = discoverPackageTests({ repo: dir, rev: commit, package: "bad" }, ctx);
    await expect(found).rejects.toBeInstanceOf(DiscoveryError);
    await expect(found).rejects.toThrow("tests/tests_extra.yml: [0].tasks: not supported");
  });
});
