// `atomic-ci coverage` on the fixture world, as a CLI subprocess: every host package listed,
// linux-firmware without tests, the share of packages with tests as the world declares it, and
// the passed share read from a ResultsDB-style API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryResultsStore, ResultsServer } from "@atomic-ci/testing";
import { buildFixtureWorld, type FixtureWorld } from "../fixture-world/src/index.js";
import { runCli } from "../support/cli.js";

interface JsonReport {
  packages: { name: string; binaries: string[]; hasTests: boolean; hasGatingYaml: boolean; formats: string[]; tests: number }[];
  withTests: number;
  total: number;
  share: number;
  results: { compose: string; tests: number; passed: number; share: number; notPassed: { testcase: string; outcome: string }[] } | null;
  resultsNote: string | null;
}

let world: FixtureWorld;
let args: string[];
/** Source package → whether world.json says it has tests, for the host's (lockfile's) binaries. */
let expected: Map<string, boolean>;

beforeAll(async () => {
  world = await buildFixtureWorld();
  args = ["coverage", "--definition", world.hostDefinition.path, "--dist-git", world.distGit.root, "--branch", world.distGit.branch];
  expected = new Map();
  for (const binary of world.hostDefinition.resolved) {
    const build = world.builds.find((b) => b.repo === "stable" && b.rpms.some((r) => r.name === binary));
    if (!build) throw new Error(`no stable build ships ${binary}`);
    expected.set(build.name, build.tests !== "none");
  }
}, 300_000);

describe.concurrent("atomic-ci coverage", () => {
  it("lists every host package in a table with the share of packages with tests", async () => {
    const r = await runCli(args);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    for (const name of expected.keys()) expect(lines.some((l) => l.startsWith(`${name} `))).toBe(true);
    const firmware = lines.find((l) => l.startsWith("linux-firmware "));
    expect(firmware).toMatch(/^linux-firmware\s+0\s+none\s+yes\s+linux-firmware$/);
    const withTests = [...expected.values()].filter(Boolean).length;
    expect(r.stdout).toContain(`host packages with at least one test: ${withTests}/${expected.size} (${((withTests / expected.size) * 100).toFixed(1)}%)`);
    expect(r.stdout).toContain("tests passed on the latest compose: no results source");
  });

  it("--json parses and matches the world", async () => {
    const r = await runCli([...args, "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.packages.map((p) => p.name).sort()).toEqual([...expected.keys()].sort());
    for (const p of report.packages) expect(p.hasTests, p.name).toBe(expected.get(p.name));
    expect(report.packages.flatMap((p) => p.binaries).sort()).toEqual([...world.hostDefinition.resolved].sort());
    expect(report.packages.every((p) => p.hasGatingYaml)).toBe(true);
    const firmware = report.packages.find((p) => p.name === "linux-firmware");
    expect(firmware).toMatchObject({ hasTests: false, tests: 0, formats: [] });
    expect(report.packages.find((p) => p.name === "podman")?.formats).toEqual(["tmt"]);
    expect(report.packages.find((p) => p.name === "kernel")?.binaries).toEqual(expect.arrayContaining(["kernel", "kernel-core", "kernel-modules"]));
    const withTests = [...expected.values()].filter(Boolean).length;
    expect(report).toMatchObject({ withTests, total: expected.size, share: withTests / expected.size, results: null, resultsNote: "no results source" });
  });

  describe("with a results API", () => {
    const store = new MemoryResultsStore();
    const server = new ResultsServer(store, { host: "127.0.0.1", port: 0 });
    let url = "";
    const result = (item: string, name: string, outcome: "PASSED" | "FAILED" | "RUNNING") =>
      store.submit({ outcome, testcase: { name }, data: { item: [item], type: ["compose"], scenario: ["x86_64.bwrap"] } });

    beforeAll(async () => {
      url = `http://127.0.0.1:${await server.start()}`;
      await result("c0ffee-old", "atomic-ci.bash.simple.functional", "FAILED");
      await result("c0ffee-new", "atomic-ci.bash.simple.functional", "FAILED");
      await result("c0ffee-new", "atomic-ci.bash.simple.functional", "PASSED"); // a re-run: the latest counts
      await result("c0ffee-new", "atomic-ci.podman.smoke.functional", "FAILED");
      await result("c0ffee-new", "atomic-ci.ostree.smoke.functional", "PASSED");
      await result("c0ffee-new", "atomic-ci.compose.host-tests.functional", "PASSED");
    });
    afterAll(() => server.close());

    it("reports the share of tests passed on the newest compose", async () => {
      const r = await runCli([...args, "--json", "--results", url]);
      expect(r.stderr).toBe("");
      const report = JSON.parse(r.stdout) as JsonReport;
      expect(report.results).toEqual({ compose: "c0ffee-new", tests: 4, passed: 3, share: 0.75, notPassed: [{ testcase: "atomic-ci.podman.smoke.functional", outcome: "FAILED" }] });
      const text = await runCli([...args, "--results", url, "--compose", "c0ffee-old"]);
      expect(text.stdout).toContain("tests passed on the latest compose c0ffee-old: 0/1 (0.0%)");
      expect(text.stdout).toContain("  FAILED: atomic-ci.bash.simple.functional");
    });
  });
});
