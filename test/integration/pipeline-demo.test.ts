// `atomic-ci demo --json` end to end (a subprocess, as `npm run demo -- --json` runs it): the
// last line summarises three composes that must really have happened.
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

describe("atomic-ci demo --json", () => {
  it("ends with one JSON line: a candidate compose, a pinned compose with the older version, a no-op reusing its commit", async () => {
    const result = await runCli(["demo", "--json"]);
    const lines = result.stdout.trim().split("\n");
    const summary = JSON.parse(lines[lines.length - 1] ?? "") as { ok: boolean; dead_lettered: number; composes: Compose[] };
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

    // Each named commit is in the named repository, and the ref ends at the pinned one.
    for (const c of summary.composes) {
      expect(c.commit).toMatch(/^[0-9a-f]{64}$/);
      const { stdout } = await run("ostree", ["rev-parse", `--repo=${c.repo}`, c.commit]);
      expect(stdout.trim()).toBe(c.commit);
    }
    const { stdout: head } = await run("ostree", ["rev-parse", `--repo=${noop.repo}`, noop.ref]);
    expect(head.trim()).toBe(pinned.commit);
  }, 120_000);
});
