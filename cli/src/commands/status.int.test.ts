// `atomic-ci status` against the real APIs, started in this process: the test-runner's results
// API (ResultsServer over a results store) and a gatekeeper service on the in-memory bus,
// which learns the same results from resultsdb.result.new as it does in production.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatekeeperService, type GatekeeperServiceDefinition } from "@atomic-ci/gatekeeper";
import { runService, type ServiceHandle } from "@atomic-ci/runtime";
import { MemoryResultsStore, ResultsServer, type NewResult } from "@atomic-ci/testing";
import { collectStatus, renderStatus, type StatusReport } from "./status.js";

const GOOD = "a".repeat(64);
const BAD = "b".repeat(64);
const CS_GOOD = "cs-00000000000000aa";
const CS_BAD = "cs-00000000000000bb";
const HOST = "atomic-ci.compose.host-tests.functional";
const PKG = "atomic-ci.compose.package-tests.functional";

const POLICY = `--- !Policy
id: compose-gate
product_versions: [fedora-41]
decision_contexts: [atomic_ci_compose_gate]
subject_type: compose
rules:
  - !PassingTestCaseRule {test_case_name: ${HOST}}
  - !PassingTestCaseRule {test_case_name: ${PKG}}
`;

let dir: string;
let results: ResultsServer;
let gatekeeper: ServiceHandle;
let gatekeeperUrl: string;

function composeResult(commit: string, changeSet: string, testcase: string, outcome: NewResult["outcome"]): NewResult {
  return { outcome, testcase: { name: testcase }, data: { item: [commit], type: ["compose"], change_set_id: [changeSet], scenario: ["x86_64"] }, ref_url: `https://logs.example/${testcase}` };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-status-"));
  await writeFile(join(dir, "compose-gate.yaml"), POLICY);
  const store = new MemoryResultsStore();
  results = new ResultsServer(store, { host: "127.0.0.1", port: 0 });
  await results.start();
  const definition: GatekeeperServiceDefinition = createGatekeeperService();
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  gatekeeper = await runService({
    ...definition,
    logDestination: quiet,
    processMetrics: false,
    config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 }, gatekeeper: { policies: { dir }, api: { host: "127.0.0.1", port: 0 }, batch: { windowMs: 0 } } } },
  });
  gatekeeperUrl = `http://127.0.0.1:${definition.running?.apiPort ?? 0}/`;
  for (const r of [composeResult(GOOD, CS_GOOD, HOST, "PASSED"), composeResult(GOOD, CS_GOOD, PKG, "PASSED"), composeResult(BAD, CS_BAD, HOST, "FAILED"), composeResult(BAD, CS_BAD, PKG, "PASSED")]) {
    const stored = await store.submit(r);
    await gatekeeper.bus.publish("resultsdb.result.new", stored);
  }
  // The gatekeeper stores results as they arrive; wait until it has all four.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const report = await collectStatus({ results: `http://127.0.0.1:${results.port}`, gatekeeper: gatekeeperUrl, productVersion: "fedora-41", contexts: ["atomic_ci_compose_gate"], limit: 100 });
    if (report.change_sets.every((cs) => cs.composes.every((c) => c.gates.every((g) => !g.unsatisfied.some((u) => u.startsWith("test-result-missing")))))) break;
    if (Date.now() > deadline) throw new Error("the gatekeeper did not see the results");
    await new Promise((r) => setTimeout(r, 200));
  }
}, 60_000);

afterAll(async () => {
  await gatekeeper.shutdown("test done");
  await results.close();
  await rm(dir, { recursive: true, force: true });
});

describe("atomic-ci status", () => {
  let report: StatusReport;
  beforeAll(async () => {
    report = await collectStatus({ results: `http://127.0.0.1:${results.port}`, gatekeeper: gatekeeperUrl, productVersion: "fedora-41", contexts: ["atomic_ci_compose_gate"], limit: 100 });
  });

  it("lists each change set with its compose, test counts and gate verdict (the --json shape)", () => {
    const byId = Object.fromEntries(report.change_sets.map((cs) => [cs.change_set_id, cs]));
    expect(Object.keys(byId).sort()).toEqual([CS_GOOD, CS_BAD]);
    expect(byId[CS_GOOD]).toMatchObject({ stage: "gated: passed", counts: { PASSED: 2 }, composes: [{ commit: GOOD, gates: [{ context: "atomic_ci_compose_gate", satisfied: true, unsatisfied: [] }] }] });
    expect(byId[CS_BAD]).toMatchObject({ stage: "gated: failed", counts: { PASSED: 1, FAILED: 1 }, composes: [{ commit: BAD, gates: [{ satisfied: false, unsatisfied: [`test-result-failed ${HOST}`] }] }] });
    expect(report.sources).toEqual({ results: `http://127.0.0.1:${results.port}/`, gatekeeper: gatekeeperUrl });
    // The shape survives JSON as it is (what --json prints).
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it("renders a table, and one change set with its tests and unsatisfied requirements", async () => {
    const table = renderStatus(report, false).split("\n");
    expect(table[0]).toMatch(/^CHANGE SET\s+STAGE\s+COMPOSE\s+TESTS\s+GATES$/);
    expect(table.find((l) => l.startsWith(CS_BAD))).toMatch(/gated: failed\s+bbbbbbbbbbbb\s+1 failed, 1 passed\s+compose_gate: fail/);
    const one = await collectStatus({ changeSet: CS_BAD, results: `http://127.0.0.1:${results.port}`, gatekeeper: gatekeeperUrl, productVersion: "fedora-41", contexts: ["atomic_ci_compose_gate"], limit: 100 });
    expect(one.change_sets.map((cs) => cs.change_set_id)).toEqual([CS_BAD]);
    const detail = renderStatus(one, true);
    expect(detail).toMatch(new RegExp(`${HOST.replace(/\./g, "\\.")}\\s+x86_64\\s+FAILED\\s+https://logs\\.example/`));
    expect(detail).toContain(`unsatisfied: test-result-failed ${HOST}`);
  });

  it("refuses a malformed change set id and a missing source as usage errors", async () => {
    await expect(collectStatus({ changeSet: "cs-../../x", results: "http://127.0.0.1:1", productVersion: "fedora-41", contexts: [], limit: 1 })).rejects.toThrow(/CHANGESET must look like/);
    await expect(collectStatus({ productVersion: "fedora-41", contexts: [], limit: 1 })).rejects.toThrow(/needs --results/);
  });
});
