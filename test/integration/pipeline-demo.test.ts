// `atomic-ci demo --json` end to end (a subprocess, as `npm run demo -- --json` runs it): the
// last line summarises three composes that must really have happened, and the gates' verdicts.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

const run = promisify(execFile);

interface Compose {
  step: string;
  repo: string;
  ref: string;
  commit: string;
  os_version: string;
  reused: boolean;
  packages: string[];
  pkgdiff: { upgraded: { from: string; to: string }[]; downgraded: { from: string; to: string }[] };
}

interface Gating {
  case: string;
  change: string;
  verdict: string;
  decisive_requirement: { type: string; testcase: string } | null;
  summary: string;
}

const PACKAGE_TEST_CASE = "fedora-ci.koji-build.tier0.functional";

describe("atomic-ci demo --json", () => {
  it("ends with one JSON line: a candidate compose, a pinned compose with the older version, a no-op reusing its commit", async () => {
    const result = await runCli(["demo", "--json"]);
    const lines = result.stdout.trim().split("\n");
    const summary = JSON.parse(lines[lines.length - 1] ?? "") as { ok: boolean; dead_lettered: number; composes: Compose[]; gating: Gating[] };
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.dead_lettered).toBe(4);
    expect(summary.composes.map((c) => c.step)).toEqual(["koji-build", "pin", "no-op"]);
    const [built, pinned, noop] = summary.composes as [Compose, Compose, Compose];

    expect(built.pkgdiff.upgraded).toContainEqual({ from: "ostree-2024.8-1.fc41.x86_64", to: "ostree-2024.9-1.fc41.x86_64" });
    expect(built.packages).toContain("ostree-2024.9-1.fc41.x86_64");
    expect(pinned.packages).toContain("podman-5:5.1.2-1.fc41.x86_64");
    expect(pinned.packages.filter((p) => p.startsWith("podman-"))).toEqual(["podman-5:5.1.2-1.fc41.x86_64"]);
    expect(pinned.pkgdiff.downgraded).toContainEqual({ from: "podman-5:5.2.5-1.fc41.x86_64", to: "podman-5:5.1.2-1.fc41.x86_64" });
    expect(pinned.commit).not.toBe(built.commit);
    expect(noop.commit).toBe(pinned.commit);
    expect(noop.reused).toBe(true);

    // Each named commit is in the named repository, and the pinned one is in the ref's history
    // (the gating part's composes, later, move the ref on).
    for (const c of summary.composes) {
      expect(c.commit).toMatch(/^[0-9a-f]{64}$/);
      const { stdout } = await run("ostree", ["rev-parse", `--repo=${c.repo}`, c.commit]);
      expect(stdout.trim()).toBe(c.commit);
    }
    const { stdout: log } = await run("ostree", ["log", `--repo=${noop.repo}`, noop.ref], { maxBuffer: 16 * 1024 * 1024 });
    expect(log).toContain(`commit ${pinned.commit}`);

    // The gates: each change's verdict and the requirement that decided it.
    const verdicts = summary.gating.map((g) => [g.case, g.change, g.verdict]);
    expect(verdicts).toEqual([
      ["good-build", "ostree-2024.9-1.fc41", "passed"],
      ["broken-build", "podman-5.3.0-1.fc41", "rejected"],
      ["broken-combination", "libfoo-2.0-1.fc41", "culprit"],
      ["broken-combination", "foo-cli-2.0-1.fc41", "accepted"],
      ["broken-combination", "ostree-2024.9-1.fc41", "accepted"],
      ["waiver", "podman-5.3.0-1.fc41", "waived"],
    ]);
    const [good, broken, culprit, partner, accepted, waived] = summary.gating as [Gating, Gating, Gating, Gating, Gating, Gating];
    expect(good.decisive_requirement).toEqual({ type: "test-result-passed", testcase: PACKAGE_TEST_CASE });
    expect(good.summary).toContain("All required tests (1 total) have passed or been waived");
    expect(broken.decisive_requirement).toEqual({ type: "test-result-failed", testcase: PACKAGE_TEST_CASE });
    expect(broken.summary).toContain("Of 1 required test, 1 test failed");
    expect(broken.summary).toContain("FAIL podman/run-container");
    // libfoo 2.0 breaks foo-cli 2.0's test: the decisive failure is foo-cli's, on the pair's compose.
    expect(culprit.decisive_requirement).toEqual({ type: "test-result-failed", testcase: PACKAGE_TEST_CASE });
    expect(culprit.summary).toContain("broken combination foo-cli-2.0-1.fc41 + libfoo-2.0-1.fc41");
    expect(partner.decisive_requirement).toBeNull();
    expect(partner.summary).toContain("foo-cli-2.0-1.fc41 + libfoo-2.0-1.fc41");
    expect(accepted.decisive_requirement).toBeNull();
    expect(waived.decisive_requirement).toEqual({ type: "test-result-failed-waived", testcase: PACKAGE_TEST_CASE });
    expect(waived.summary).toBe("All required tests (1 total) have passed or been waived");
  }, 180_000);
});
