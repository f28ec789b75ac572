// The gatekeeper on the in-memory bus: policies from a host definition repository (the
// fixture world's policies/*.yaml), gating.yaml from dist-git at the build's commit, results
// and waivers in, greenwave.decision.update out only on change; its HTTP API and `waive`.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { MemoryBroker } from "@atomic-ci/bus";
import { createGatekeeperService, type GatekeeperRunning } from "@atomic-ci/gatekeeper";
import { runService, type ServiceHandle } from "@atomic-ci/runtime";
import { gitAdd, gitCommit, gitInit } from "@atomic-ci/tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatingYaml, PACKAGE_TEST_CASE } from "../fixture-world/src/distgit.js";
import { COMPOSE_TEST_CASES, hostDefinitionFiles } from "../fixture-world/src/hostdef.js";
import { runCli } from "../support/cli.js";

const WATCH = "test.gatekeeper-watch";
const PV = "fedora-41";
const OSTREE = "ostree-2024.9-1.fc41";
const BASH = "bash-5.2.37-1.fc41";
const COMPOSE = "Fedora-AtomicHost-41-20250101.0";
const tools = { env: process.env };
const author = { name: "Tester", email: "tester@example.invalid", date: new Date("2025-01-01T00:00:00Z") };

interface Seen {
  topic: string;
  body: Record<string, unknown>;
}

let dir: string;
let broker: MemoryBroker;
let handle: ServiceHandle;
let running: GatekeeperRunning;
let api: string;
const seen: Seen[] = [];
let bashCommit: string;
let nextId = 1000;

async function commitFiles(repo: string, branch: string, files: Record<string, string>, message: string, init: boolean): Promise<string> {
  if (init) await gitInit(repo, { ...tools, branch });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), content);
  }
  await gitAdd(repo, tools);
  return gitCommit(repo, { ...tools, author, message });
}

const spec = (name: string, version: string) => `Name: ${name}\nVersion:        ${version}\nRelease:        1%{?dist}\nSummary: test\nLicense: MIT\n`;

function drain(): void {
  for (const wire of broker.take(WATCH)) {
    seen.push({ topic: wire.routingKey.replace(/^.*?\.(greenwave|waiverdb)\./, "$1."), body: JSON.parse(wire.body.toString("utf8")) as Record<string, unknown> });
  }
}

async function waitFor(match: (m: Seen) => boolean, from: number, timeoutMs = 15_000): Promise<Seen> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    drain();
    const found = seen.slice(from).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out; seen: ${JSON.stringify(seen.slice(from).map((s) => [s.topic, s.body["subject_identifier"]]))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const decisionOf = (subject: string, context = "bodhi_update_push_testing") => (m: Seen) =>
  m.topic === "greenwave.decision.update" && m.body["subject_identifier"] === subject && m.body["decision_context"] === context;

function result(item: string, outcome: string, data: Record<string, string[]> = {}, testcase = PACKAGE_TEST_CASE): Record<string, unknown> {
  const id = nextId++;
  return { id, outcome, testcase: { name: testcase }, data: { item: [item], type: ["koji_build"], ...data }, submit_time: new Date(Date.UTC(2025, 0, 2, 0, 0, id - 1000)).toISOString(), note: null };
}

async function publishResult(body: Record<string, unknown>): Promise<void> {
  await handle.bus.publish("resultsdb.result.new", body, { topicPrefix: "org.fedoraproject.prod" });
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-gatekeeper-"));
  // The fixture world's definition policies (compose gate + package gate with !RemoteRule).
  const definition = hostDefinitionFiles({ dir: "", repos: [], topPackages: [], lock: [], generated: "2025-01-01T00:00:00Z", date: author.date });
  const policies = Object.fromEntries(Object.entries(definition).filter(([path]) => path.startsWith("policies/")));
  expect(Object.keys(policies).sort()).toEqual(["policies/compose-gate.yaml", "policies/image-gate.yaml", "policies/package-gate.yaml"]);
  await commitFiles(join(dir, "definition"), "f41", { ...policies, "README.md": "definition\n" }, "policies", true);
  // dist-git: ostree has two versions (the gatekeeper finds 2024.9's commit by its spec); bash one.
  const ostree = join(dir, "dist-git", "rpms", "ostree");
  await commitFiles(ostree, "f41", { "ostree.spec": spec("ostree", "2024.8"), "gating.yaml": "--- !Policy\nthis is: not valid\n" }, "2024.8", true);
  await commitFiles(ostree, "f41", { "ostree.spec": spec("ostree", "2024.9"), "gating.yaml": gatingYaml(true) }, "2024.9", false);
  bashCommit = await commitFiles(join(dir, "dist-git", "rpms", "bash"), "f41", { "bash.spec": spec("bash", "5.2.37"), "gating.yaml": gatingYaml(true) }, "5.2.37", true);

  broker = new MemoryBroker();
  broker.bind(WATCH, "amq.topic", "#.greenwave.decision.update");
  broker.bind(WATCH, "amq.topic", "#.waiverdb.waiver.new");
  const definitionOfService = createGatekeeperService({ env: process.env });
  handle = await runService({
    ...definitionOfService,
    broker,
    logDestination: new Writable({ write: (_c, _e, done) => done() }),
    processMetrics: false,
    config: {
      env: {},
      overrides: {
        http: { host: "127.0.0.1", port: 0 },
        gatekeeper: {
          policies: { repo: join(dir, "definition"), branch: "f41" },
          distGit: { baseDir: join(dir, "dist-git"), branch: "f41" },
          productVersion: PV,
          api: { host: "127.0.0.1", port: 0 },
        },
      },
    },
  });
  if (!definitionOfService.running) throw new Error("gatekeeper did not start");
  running = definitionOfService.running;
  api = `http://127.0.0.1:${running.apiPort}`;
}, 60_000);

afterAll(async () => {
  await handle.shutdown("test done");
  await rm(dir, { recursive: true, force: true });
});

describe("gatekeeper: the package gate", () => {
  it("publishes a decision update with previous when a build's gating test passes, and nothing for the same result again", async () => {
    let from = seen.length;
    await publishResult(result(OSTREE, "QUEUED"));
    const queued = await waitFor(decisionOf(OSTREE), from);
    expect(queued.body).toMatchObject({ subject_type: "koji_build", product_version: PV, policies_satisfied: false, previous: null, applicable_policies: ["atomic-host-package-gate"] });
    expect(queued.body["unsatisfied_requirements"]).toEqual([expect.objectContaining({ type: "test-result-missing", testcase: PACKAGE_TEST_CASE, result_state: "QUEUED" })]);
    // The gating.yaml came from dist-git at 2024.9's commit (2024.8's is invalid).
    expect(queued.body["satisfied_requirements"]).toEqual([expect.objectContaining({ type: "fetched-gating-yaml", source: expect.stringMatching(/^rpms\/ostree\.git@[0-9a-f]{40}:gating\.yaml$/) as unknown })]);

    from = seen.length;
    const passed = result(OSTREE, "PASSED");
    await publishResult(passed);
    const update = await waitFor(decisionOf(OSTREE), from);
    expect(update.body).toMatchObject({
      policies_satisfied: true,
      summary: "All required tests (1 total) have passed or been waived",
      previous: { policies_satisfied: false, summary: "Of 1 required test, 1 test incomplete" },
    });

    // The same result again, then another build's result as a marker: only the marker decides.
    from = seen.length;
    await publishResult(passed);
    await publishResult(result(BASH, "QUEUED", { dist_git_commit: [bashCommit] }));
    await waitFor(decisionOf(BASH), from);
    expect(seen.slice(from).filter(decisionOf(OSTREE))).toEqual([]);
  });

  it("flips a failed build to satisfied with a waiver from the API, back with a CLI revocation, and again with a CLI waiver", async () => {
    let from = seen.length;
    await publishResult(result(BASH, "FAILED", { dist_git_commit: [bashCommit] }));
    const failed = await waitFor(decisionOf(BASH), from);
    expect(failed.body).toMatchObject({ policies_satisfied: false, summary: "Of 1 required test, 1 test failed" });

    from = seen.length;
    const waiverFields = { subject_type: "koji_build", subject_identifier: BASH, testcase: PACKAGE_TEST_CASE, product_version: PV };
    const created = await post("/api/v1.0/waivers", { ...waiverFields, waived: true, comment: "known flake", username: "alice" });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ ...waiverFields, waived: true, username: "alice", scenario: null });
    const waiverMessage = await waitFor((m) => m.topic === "waiverdb.waiver.new", from);
    expect(waiverMessage.body).toMatchObject({ id: created.json["id"], comment: "known flake" });
    const waived = await waitFor(decisionOf(BASH), from);
    expect(waived.body).toMatchObject({ policies_satisfied: true, previous: { policies_satisfied: false } });
    expect(waived.body["satisfied_requirements"]).toContainEqual(expect.objectContaining({ type: "test-result-failed-waived", waiver_id: created.json["id"] }));

    const cliArgs = ["--subject-type", "koji_build", "--subject", BASH, "--testcase", PACKAGE_TEST_CASE, "--product-version", PV, "--username", "bob"];
    from = seen.length;
    const revoke = await runCli(["waive", ...cliArgs, "--comment", "fixed upstream", "--revoke", "--json"], { ATOMIC_CI_GATEKEEPER_URL: api });
    expect(revoke.stderr).toBe("");
    expect(revoke.code).toBe(0);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ ...waiverFields, waived: false, username: "bob", comment: "fixed upstream" });
    expect((await waitFor(decisionOf(BASH), from)).body).toMatchObject({ policies_satisfied: false, previous: { policies_satisfied: true } });

    from = seen.length;
    const waive = await runCli(["waive", ...cliArgs, "--comment", "waived again", "--url", api]);
    expect(waive.code).toBe(0);
    expect(waive.stdout).toMatch(new RegExp(`^waiver \\d+: waived ${PACKAGE_TEST_CASE} for koji_build ${BASH} in ${PV}\\n$`));
    expect((await waitFor(decisionOf(BASH), from)).body).toMatchObject({ policies_satisfied: true });
  }, 120_000);

  it("refuses bad waivers: exit 2 from the CLI, 400 from the API; exit 1 when the gatekeeper is unreachable", async () => {
    const bad = await post("/api/v1.0/waivers", { subject_type: "koji_build", subject_identifier: BASH, testcase: PACKAGE_TEST_CASE, product_version: PV, username: "x" });
    expect(bad.status).toBe(400);
    expect(bad.json["message"]).toMatch(/comment/);
    const noUrl = await runCli(["waive", "--subject-type", "koji_build", "--subject", BASH, "--testcase", "t", "--product-version", PV, "--comment", "c"], { ATOMIC_CI_GATEKEEPER_URL: "" });
    expect(noUrl.code).toBe(2);
    const down = await runCli(["waive", "--subject-type", "koji_build", "--subject", BASH, "--testcase", "t", "--product-version", PV, "--comment", "c", "--url", "http://127.0.0.1:9"]);
    expect(down.code).toBe(1);
  }, 120_000);

  it("answers POST /api/v1.0/decision over HTTP with Greenwave's fields", async () => {
    const res = await post("/api/v1.0/decision", { subject_type: "koji_build", subject_identifier: OSTREE, decision_context: "bodhi_update_push_testing", product_version: PV, verbose: true });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json).sort()).toEqual(["applicable_policies", "policies_satisfied", "results", "satisfied_requirements", "summary", "unsatisfied_requirements", "waivers"]);
    expect(res.json).toMatchObject({ policies_satisfied: true, applicable_policies: ["atomic-host-package-gate"], unsatisfied_requirements: [] });
    expect(res.json["satisfied_requirements"]).toContainEqual(expect.objectContaining({ type: "test-result-passed", testcase: PACKAGE_TEST_CASE, subject_identifier: OSTREE }));

    const missing = await post("/api/v1.0/decision", { decision_context: "bodhi_update_push_testing", subject_type: "koji_build", subject_identifier: OSTREE });
    expect(missing).toEqual({ status: 400, json: { message: "Missing required product version" } });
    const valid = await fetch(`${api}/api/v1.0/validate-gating-yaml`, { method: "POST", body: gatingYaml(true) });
    expect(await valid.json()).toEqual({ message: "All OK" });
  });
});

describe("gatekeeper: the compose gate", () => {
  const onCompose = { compose: [COMPOSE] };
  const composeGate = decisionOf(COMPOSE, "atomic_ci_compose_gate");

  it("is unsatisfied while a host package's gating test on the compose is queued, and satisfied once every one passed", async () => {
    let from = seen.length;
    for (const testcase of COMPOSE_TEST_CASES) await publishResult(result(COMPOSE, "PASSED", { type: ["compose"] }, testcase));
    await publishResult(result(BASH, "PASSED", { ...onCompose, dist_git_commit: [bashCommit] }));
    // ostree already passed its gating test, but not on this compose: it is queued here.
    await publishResult(result(OSTREE, "QUEUED", onCompose));
    await waitFor((m) => composeGate(m) && JSON.stringify(m.body["unsatisfied_requirements"]).includes(OSTREE), from);

    const decision = await post("/api/v1.0/decision", { subject_type: "compose", subject_identifier: COMPOSE, decision_context: "atomic_ci_compose_gate", product_version: PV });
    expect(decision.status).toBe(200);
    expect(decision.json).toMatchObject({ policies_satisfied: false, summary: "Of 4 required tests, 1 test incomplete", applicable_policies: ["atomic-host-compose-gate", "atomic-host-package-gate"] });
    expect(decision.json["unsatisfied_requirements"]).toEqual([
      expect.objectContaining({ type: "test-result-missing", subject_type: "koji_build", subject_identifier: OSTREE, testcase: PACKAGE_TEST_CASE, result_state: "QUEUED" }),
    ]);

    from = seen.length;
    await publishResult(result(OSTREE, "PASSED", onCompose));
    const passed = await waitFor(composeGate, from);
    expect(passed.body).toMatchObject({ subject_type: "compose", policies_satisfied: true, previous: { policies_satisfied: false } });
  });

  it("shows a compose-level test without a result as test-result-missing", async () => {
    const other = "Fedora-AtomicHost-41-20250102.0";
    const from = seen.length;
    await publishResult(result(other, "PASSED", { type: ["compose"] }, COMPOSE_TEST_CASES[0]));
    const update = await waitFor(decisionOf(other, "atomic_ci_compose_gate"), from);
    expect(update.body).toMatchObject({ policies_satisfied: false, summary: "Of 2 required tests, 1 result missing" });
    expect(update.body["unsatisfied_requirements"]).toEqual([expect.objectContaining({ type: "test-result-missing", testcase: COMPOSE_TEST_CASES[1] })]);
  });
});
