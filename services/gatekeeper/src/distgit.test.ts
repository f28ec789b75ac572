// A build's gating.yaml from a forge's repository, mirrored on first use (real git; the forge is
// a directory reached by file:// URLs), and what a decision is told when the forge is down.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitAdd, gitCommit, gitInit, MirroredDistGit, type ToolContext } from "@atomic-ci/tools";
import { DistGit } from "./distgit.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" }, timeoutMs: 30_000 };
const author = { name: "T", email: "t@example.invalid", date: new Date("2026-01-01T00:00:00Z") };
const GATING = "--- !Policy\nproduct_versions: [fedora-*]\ndecision_contexts: [bodhi_update_push_testing]\nrules: []\n";
let dir: string;
let commit: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatekeeper-distgit-"));
  const foo = join(dir, "forge", "foo");
  await mkdir(foo, { recursive: true });
  await gitInit(foo, { ...tools, branch: "f41" });
  await writeFile(join(foo, "foo.spec"), "Name: foo\nVersion: 1.0\nRelease: 1%{?dist}\n");
  await writeFile(join(foo, "gating.yaml"), GATING);
  await gitAdd(foo, tools);
  commit = await gitCommit(foo, { ...tools, author, message: "1.0\n" });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const subject = { type: "koji_build", identifier: "foo-1.0-1.fc41" } as const;

describe("DistGit over a forge's mirrors", () => {
  it("reads the build's gating.yaml at the commit whose spec builds it", async () => {
    const repos = new MirroredDistGit({ urlTemplate: `file://${join(dir, "forge")}/{name}`, cacheDir: join(dir, "mirrors"), maxAgeMs: 60_000, tools });
    const distGit = new DistGit({ repos, branch: "f41", tools, commitHint: () => Promise.resolve(undefined) });
    expect(await distGit.gatingYaml(subject)).toEqual({ found: true, text: GATING, source: `rpms/foo.git@${commit}:gating.yaml` });
    expect(await distGit.gatingYaml({ type: "koji_build", identifier: "bar-1-1.fc41" })).toEqual({ error: "no dist-git repository rpms/bar" });
  });

  it("reports an unreachable forge as an error of the decision, not as 'no gating.yaml'", async () => {
    const repos = new MirroredDistGit({ urlTemplate: "http://127.0.0.1:9/rpms/{name}.git", cacheDir: join(dir, "mirrors-down"), maxAgeMs: 60_000, tools });
    const distGit = new DistGit({ repos, branch: "f41", tools, commitHint: () => Promise.resolve(undefined) });
    const answer = await distGit.gatingYaml(subject);
    expect("error" in answer ? answer.error : "").toMatch(/^cannot reach the dist-git repository rpms\/foo: cannot clone/);
  });
});
