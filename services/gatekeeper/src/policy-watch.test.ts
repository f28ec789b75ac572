// Policies read again from the definition with real git: a local repository, and the mirror of
// a "remote" one (file:// URL). A commit changes them; a broken commit keeps the last good set.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "@atomic-ci/gating";
import { silentLogger } from "@atomic-ci/telemetry";
import { gitAdd, gitCommit, gitInit, GitMirror, type ToolContext } from "@atomic-ci/tools";
import { PolicyWatch } from "./policy-watch.js";

const tools: ToolContext = { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } };
const author = { name: "T", email: "t@example.invalid", date: new Date("2026-01-01T00:00:00Z") };
const policy = (id: string, testcase: string) =>
  `--- !Policy\nid: ${id}\nproduct_versions: [fedora-41]\ndecision_context: atomic_ci_compose_gate\nsubject_type: compose\nrules:\n  - !PassingTestCaseRule {test_case_name: ${testcase}}\n`;
let dir: string;
let definition: string;

async function commitPolicies(text: string): Promise<void> {
  await writeFile(join(definition, "policies", "compose-gate.yaml"), text);
  await gitAdd(definition, tools);
  await gitCommit(definition, { ...tools, author, message: "policies\n" });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "policy-watch-"));
  definition = join(dir, "definition");
  await mkdir(join(definition, "policies"), { recursive: true });
  await gitInit(definition, { ...tools, branch: "f41" });
  await commitPolicies(policy("compose_gate", "atomic-ci.compose.host-tests.functional"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function watch(resolver?: { path: () => Promise<string> }) {
  const applied: (readonly Policy[])[] = [];
  const w = new PolicyWatch({ source: { repo: resolver ? "https://git.example.invalid/definition.git" : definition, branch: "f41" }, resolver, tools, logger: silentLogger(), apply: (p) => applied.push(p), intervalMs: 60_000 });
  return { w, applied };
}

describe("PolicyWatch", () => {
  it("applies a commit that changes the policies, and keeps the last good ones over a broken commit", async () => {
    const { w, applied } = watch();
    expect((await w.load()).map((p) => p.id)).toEqual(["compose_gate"]);
    await w.refresh();
    expect(applied).toEqual([]); // nothing changed

    await commitPolicies(policy("compose_gate", "atomic-ci.compose.package-tests.functional"));
    await w.refresh();
    expect(applied.map((set) => JSON.stringify(set[0]?.rules))).toEqual([expect.stringContaining("package-tests")]);

    await commitPolicies("--- !Policy\nid: broken\nrules: [!NoSuchRule {}]\n");
    await w.refresh();
    expect(applied).toHaveLength(1);

    await commitPolicies(policy("compose_gate_v2", "atomic-ci.compose.host-tests.functional"));
    await w.refresh();
    expect(applied.at(-1)?.map((p) => p.id)).toEqual(["compose_gate_v2"]);
  });

  it("reads a remote definition through its mirror", async () => {
    let now = 0;
    const mirror = new GitMirror({ url: `file://${definition}`, cacheDir: join(dir, "mirrors"), maxAgeMs: 60_000, tools, now: () => now });
    const { w, applied } = watch({ path: () => mirror.path() });
    expect((await w.load()).map((p) => p.id)).toEqual(["compose_gate_v2"]);
    await commitPolicies(policy("compose_gate_v3", "atomic-ci.compose.host-tests.functional"));
    now += 60_000;
    await w.refresh();
    expect(applied.at(-1)?.map((p) => p.id)).toEqual(["compose_gate_v3"]);
  });

  it("refuses to start on policies it cannot read", async () => {
    const { w } = watch({ path: () => Promise.reject(new Error("cannot clone")) });
    await expect(w.load()).rejects.toThrow(/cannot clone/);
  });
});
