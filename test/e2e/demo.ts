// The end-to-end checks of `atomic-ci demo --json`, the same for both modes (embedded, and one
// process per service on RabbitMQ and Redis): the demo runs as a user runs it (a subprocess), and
// everything its last line claims is checked against the real artifacts — commits in the
// repositories, releases in the public tree's releases.json, and a GPG-verified `ostree pull` of
// the delivered release from the public tree over HTTP, as a user's machine would do it.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
// The shapes of the demo's --json line, from the CLI itself (a type-only import: nothing of the CLI is loaded).
import type { ComposeSummary, DeliveredSummary, DemoSummary } from "../../cli/src/index.js";
import { serve, tool } from "../publish/support.js";
import { REPO_ROOT } from "../support/cli.js";

const run = promisify(execFile);
const TSX = join(REPO_ROOT, "node_modules", ".bin", "tsx");
const MAIN = join(REPO_ROOT, "cli", "src", "main.ts");

export interface DemoRun {
  code: number;
  stdout: string;
  stderr: string;
  summary: DemoSummary;
}

/** `atomic-ci demo --json ARGS` as `npm run demo -- --json` runs it; the summary is its last line. */
export async function runDemo(args: readonly string[], timeoutMs: number): Promise<DemoRun> {
  const result = await run(TSX, [MAIN, "demo", "--json", ...args], { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: unknown) => {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message?: string };
      return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? e.message ?? "" };
    },
  );
  const lines = result.stdout.trim().split("\n");
  let summary: DemoSummary;
  try {
    summary = JSON.parse(lines[lines.length - 1] ?? "") as DemoSummary;
  } catch {
    throw new Error(`the demo did not end with a JSON line (exit ${result.code}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  }
  return { ...result, summary };
}

const PACKAGE_TEST_CASE = "fedora-ci.koji-build.tier0.functional";
const BROKEN_BUILD = "podman-5.3.0-1.fc41";
const GOOD_BUILD = "ostree-2024.9-1.fc41";

/** The pipeline part: a candidate compose, a pinned compose with the older version, a no-op reusing its commit. */
export async function checkComposes(summary: DemoSummary): Promise<void> {
  expect(summary.dead_lettered).toBe(4);
  expect(summary.composes.map((c) => c.step)).toEqual(["koji-build", "pin", "no-op"]);
  const [built, pinned, noop] = summary.composes as [ComposeSummary, ComposeSummary, ComposeSummary];
  expect(built.pkgdiff.upgraded).toContainEqual({ from: "ostree-2024.8-1.fc41.x86_64", to: "ostree-2024.9-1.fc41.x86_64" });
  expect(built.packages).toContain("ostree-2024.9-1.fc41.x86_64");
  expect(pinned.packages.filter((p) => p.startsWith("podman-"))).toEqual(["podman-5:5.1.2-1.fc41.x86_64"]);
  expect(pinned.pkgdiff.downgraded).toContainEqual({ from: "podman-5:5.2.5-1.fc41.x86_64", to: "podman-5:5.1.2-1.fc41.x86_64" });
  expect(pinned.commit).not.toBe(built.commit);
  expect(noop.commit).toBe(pinned.commit);
  expect(noop.reused).toBe(true);
  // Each named commit is in the named repository, and the pinned one is in the ref's history.
  for (const c of summary.composes) {
    expect(c.commit).toMatch(/^[0-9a-f]{64}$/);
    expect(await tool("ostree", "rev-parse", `--repo=${c.repo}`, c.commit)).toBe(c.commit);
  }
  expect(await tool("ostree", "log", `--repo=${noop.repo}`, noop.ref)).toContain(`commit ${pinned.commit}`);
}

/** The gates: each change's verdict and the requirement that decided it. */
export function checkGating(summary: DemoSummary): void {
  expect(summary.gating.map((g) => [g.case, g.change, g.verdict])).toEqual([
    ["broken-build", BROKEN_BUILD, "rejected"],
    ["broken-combination", "libfoo-2.0-1.fc41", "culprit"],
    ["broken-combination", "foo-cli-2.0-1.fc41", "accepted"],
    ["broken-combination", GOOD_BUILD, "accepted"],
    ["waiver", BROKEN_BUILD, "waived"],
    ["good-build", GOOD_BUILD, "passed"],
  ]);
  const byCase = (c: string, change: string) => summary.gating.find((g) => g.case === c && g.change === change);
  expect(byCase("broken-build", BROKEN_BUILD)?.decisive_requirement).toEqual({ type: "test-result-failed", testcase: PACKAGE_TEST_CASE });
  expect(byCase("broken-build", BROKEN_BUILD)?.summary).toContain("FAIL podman/run-container");
  expect(byCase("broken-combination", "libfoo-2.0-1.fc41")?.summary).toContain("broken combination foo-cli-2.0-1.fc41 + libfoo-2.0-1.fc41");
  expect(byCase("waiver", BROKEN_BUILD)?.decisive_requirement).toEqual({ type: "test-result-failed-waived", testcase: PACKAGE_TEST_CASE });
  expect(byCase("good-build", GOOD_BUILD)?.decisive_requirement).toEqual({ type: "test-result-passed", testcase: PACKAGE_TEST_CASE });
}

interface ReleasesIndex {
  stream: string;
  releases: { version: string; commits: { architecture: string; checksum: string }[] }[];
}

/**
 * Delivery: the broken build's compose held at the gate; the good build's held by the freeze,
 * then delivered; the delivered release in releases.json and stream metadata; and a user's
 * `ostree pull` over HTTP with commit and summary signatures verified gets exactly that commit.
 */
export async function checkDelivery(summary: DemoSummary): Promise<void> {
  const good = summary.gating.find((g) => g.case === "good-build");
  expect(good).toBeDefined();
  const gateHeld = summary.held.find((h) => h.reasons.some((r) => r.kind === "gate"));
  expect(gateHeld?.then).toBe("stays held");
  const freezeHeld = summary.held.find((h) => h.reasons.some((r) => r.kind === "freeze"));
  expect(freezeHeld?.then).toBe("delivered after the freeze was lifted");
  expect(summary.delivered.length).toBeGreaterThanOrEqual(1);
  const [delivered] = summary.delivered as [DeliveredSummary];
  expect(delivered.commit).toBe(freezeHeld?.commit);
  expect(delivered.commit).not.toBe(gateHeld?.commit);
  // What was held at the gate was never delivered, anywhere.
  expect(summary.delivered.map((d) => d.commit)).not.toContain(gateHeld?.commit);

  const releases = JSON.parse(await readFile(join(summary.public_dir, "prod", "streams", delivered.stream, "releases.json"), "utf8")) as ReleasesIndex;
  const entry = releases.releases.find((r) => r.version === delivered.version);
  expect(entry?.commits.map((c) => c.checksum)).toContain(delivered.commit);
  const streamMetadata = JSON.parse(await readFile(join(summary.public_dir, "streams", `${delivered.stream}.json`), "utf8")) as { stream: string };
  expect(streamMetadata.stream).toBe(delivered.stream);

  // A user's machine: the public tree over HTTP, signatures required.
  const served = await serve(summary.public_dir);
  const dir = await mkdtemp(join(tmpdir(), "atomic-ci-e2e-pull-"));
  try {
    const repoPath = relative(summary.public_dir, delivered.repo.startsWith("/") ? delivered.repo : join(summary.public_dir, delivered.repo));
    expect(repoPath.startsWith("..")).toBe(false);
    const client = join(dir, "client");
    await tool("ostree", "init", `--repo=${client}`, "--mode=bare-user");
    await tool("ostree", "remote", "add", `--repo=${client}`, "--set=gpg-verify=true", "--set=gpg-verify-summary=true", `--set=gpgkeypath=${summary.public_key}`, "pub", `${served.url}${repoPath}`);
    await tool("ostree", "pull", `--repo=${client}`, "pub", delivered.ref);
    expect(await tool("ostree", "rev-parse", `--repo=${client}`, `pub:${delivered.ref}`)).toBe(delivered.commit);
    await tool("ostree", "checkout", `--repo=${client}`, "--user-mode", delivered.commit, join(dir, "checkout"));
  } finally {
    await served.close();
    await rm(dir, { recursive: true, force: true });
  }
}
