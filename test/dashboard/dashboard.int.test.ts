// The dashboard in a real browser: the service on the in-memory bus, a realistic run of the
// pipeline published to it (bodies from the test-runner's and the publisher's own builders),
// then Debian's chromium (driven by playwright-core) loads the page and checks what people see:
// the change set with its stage, the failing requirement in plain words, a waiver, a hold and
// a release; one more message updates the page without a reload (Server-Sent Events); and a
// screenshot is decoded and inspected, so a blank or unstyled page fails.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { MemoryBroker } from "@atomic-ci/bus";
import { createDashboardService, type DashboardServiceDefinition, type DashboardState } from "@atomic-ci/dashboard";
import { changeSetIdOf, type ChangeSetMember } from "@atomic-ci/messages";
import { deliveredBody, heldBody, holdChangeBody, type Candidate } from "@atomic-ci/publisher";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { completeBody, queuedBody, resultOf, type CiContext, type PlannedTest } from "@atomic-ci/test-runner";
import type { TestCase, TestRun } from "@atomic-ci/testing";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePng, shareOf } from "./png.js";

const CHROMIUM = "/usr/bin/chromium";
const PREFIX = "org.atomic-ci.dev";
const HOSTILE = "<script>window.pwned=1</script>";
const COMMIT = "3f6c1d2e9a8b7c6d5e4f30211203f4e5d6c7b8a9e0f1d2c3b4a5968778695a4b";
const GOOD_COMMIT = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const LOG = "https://ci.example.org/artifacts/runs/podman-tests/output.txt";
const NOW = new Date();

let group: GroupHandle | undefined;
let dashboard: ServiceHandle;
let definition: DashboardServiceDefinition;
let base: string;
let profile: string;
let browser: BrowserContext | undefined;
let page: Page;
let resultId = 100;

function build(nvr: string, pkg = nvr.split("-").slice(0, -2).join("-")): ChangeSetMember {
  return { kind: "build", package: pkg, nvr, build_id: 2_861_000 + nvr.length, source_message_id: `koji-${nvr}`, source_topic: "org.fedoraproject.prod.buildsys.build.state.change" };
}

function changeSet(members: ChangeSetMember[]) {
  return { change_set_id: changeSetIdOf(members), version: "1.0.0", generated_at: NOW.toISOString(), reason: "koji-build", members, definition: { repo: "fedora-atomic", branch: "f41" } };
}

const BROKEN = changeSet([build("podman-5.3.0-1.fc41")]);
const GOOD = changeSet([build("ostree-2024.9-1.fc41")]);
const EVIL = changeSet([build(`${HOSTILE}-1.0-1.fc41`, HOSTILE)]);
const LATE = changeSet([build("bash-5.2.37-1.fc41")]);
const composeOf = (cs: string) => `${cs}.1`;

function composeComplete(cs: string, commit: string, osVersion: string) {
  return {
    change_set_id: cs,
    compose_id: composeOf(cs),
    version: "1.0.0",
    generated_at: NOW.toISOString(),
    ref: "fedora/41/x86_64/atomic-host",
    commit,
    parent: null,
    os_version: osVersion,
    input_hash: "e".repeat(64),
    repo: { location: "/srv/atomic-ci/repo" },
    lockfile: { location: `/srv/atomic-ci/lockfiles/${cs}.json`, sha256: "d".repeat(64) },
    pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] },
    reused: false,
    timestamp: NOW.toISOString(),
  };
}

function planned(component: string, nvr: string): PlannedTest {
  const test: TestCase = {
    id: `${component}/sti/tests/tests.yml/tests`,
    package: component,
    source: "sti",
    name: "tests",
    dir: "tests",
    command: ["sh", "-c", "true"],
    requires: [],
    timeoutMs: 60_000,
    allowedReruns: 0,
    environment: {},
    commit: "6c5b4a3e2d1f00112233445566778899aabbccdd",
    file: "tests/tests.yml",
  };
  return { test, gitDir: `/srv/dist-git/rpms/${component}`, component, nvr, namespace: `atomic-ci.${component}`, type: "tests" };
}

const ctx = (cs: string, commit: string): CiContext => ({
  compose: { compose_id: composeOf(cs), commit, os_version: "41.20261126.0", change_set_id: cs },
  contact: { name: "atomic-ci", team: "atomic-ci", docs: "https://atomic-ci.example.org/docs/tests", email: "atomic-ci@example.org" },
  basearch: "x86_64",
  now: NOW,
});
const links = { url: "https://ci.example.org/runs/podman-tests", log: LOG };
const run = (outcome: "passed" | "failed"): TestRun => ({
  testId: "podman/sti/tests/tests.yml/tests",
  outcome,
  ...(outcome === "failed" ? { reason: "FAIL: podman run exited 125" } : {}),
  runtimeMs: 1500,
  artifactsDir: "/tmp/a",
  logPath: "/tmp/a/output.txt",
  attempts: [],
  passedOnRerun: false,
});

function result(p: PlannedTest, outcome: "PASSED" | "FAILED" | "QUEUED", c: CiContext) {
  return { id: resultId++, submit_time: new Date().toISOString(), ...resultOf(p, outcome, c, { refUrl: LOG, ...(outcome === "FAILED" ? { note: "FAIL: podman run exited 125" } : {}) }) };
}

function candidate(cs: string, commit: string, osVersion: string): Candidate {
  return { commit, firstSeen: NOW.toISOString(), compose: { composeId: composeOf(cs), changeSetId: cs, ref: "fedora/41/x86_64/atomic-host", osVersion, repo: "/srv/atomic-ci/repo", timestamp: NOW.toISOString() }, gates: {}, streams: {} };
}

function decision(commit: string, satisfied: boolean, unsatisfied: Record<string, unknown>[]) {
  return {
    subject_type: "compose",
    subject_identifier: commit,
    subject: [{ type: "compose", item: commit }],
    product_version: "fedora-41",
    decision_context: "atomic_ci_compose_gate",
    policies_satisfied: satisfied,
    summary: satisfied ? "All required tests passed" : "1 of 3 required tests failed, 1 result missing",
    applicable_policies: ["atomic-ci-compose-gate"],
    satisfied_requirements: [],
    unsatisfied_requirements: unsatisfied,
  };
}

const requirementOn = (commit: string) => ({ subject_type: "compose", subject_identifier: commit, scenario: null, source: null, item: { type: "compose", item: commit } });

async function publish(topic: string, body: unknown): Promise<void> {
  await dashboard.bus.publish(topic, body, { topicPrefix: topic.startsWith("ci.") ? "org.centos.prod" : PREFIX });
}

async function state(): Promise<DashboardState> {
  return (await (await fetch(`${base}/api/state`)).json()) as DashboardState;
}

async function waitForSeq(seq: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await state()).seq < seq) {
    if (Date.now() > deadline) throw new Error(`the dashboard did not reach version ${seq}: ${(await state()).seq}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  const logs = new Writable({ write: (_chunk: Buffer, _enc, done) => done() });
  definition = createDashboardService();
  group = await runServices([definition], {
    broker: new MemoryBroker(),
    logDestination: logs,
    processMetrics: false,
    perService: { dashboard: { config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 }, dashboard: { http: { host: "127.0.0.1", port: 0 }, pushIntervalMs: 50 } } } } },
  });
  const first = group.services[0];
  if (!first || !definition.running) throw new Error("the dashboard did not start");
  dashboard = first;
  base = `http://127.0.0.1:${definition.running.port}`;

  // A good build released to stable earlier; a broken build failing the compose gate; a
  // change set with a hostile package name.
  const podman = planned("podman", "podman-5.3.0-1.fc41");
  const ostree = planned("ostree", "ostree-2024.9-1.fc41");
  const broken = ctx(BROKEN.change_set_id, COMMIT);
  const good = ctx(GOOD.change_set_id, GOOD_COMMIT);
  const sequence: [string, unknown][] = [
    ["pipeline.change-set.queued", GOOD],
    ["pipeline.compose.queued", { change_set_id: GOOD.change_set_id, compose_id: composeOf(GOOD.change_set_id), version: "1.0.0", generated_at: NOW.toISOString() }],
    ["pipeline.compose.complete", composeComplete(GOOD.change_set_id, GOOD_COMMIT, "41.20261125.0")],
    ["ci.productmd-compose.test.complete", completeBody(ostree, run("passed"), { ...links, outputUrls: [LOG] }, good)],
    ["resultsdb.result.new", result(ostree, "PASSED", good)],
    ["greenwave.decision.update", decision(GOOD_COMMIT, true, [])],
    ["pipeline.release.delivered", deliveredBody("stable", candidate(GOOD.change_set_id, GOOD_COMMIT, "41.20261125.0"), "41.20261125.0", { ref: "fedora/41/x86_64/stable", repo: "repo/stable", streamMetadata: "streams/stable.json", releaseMetadata: "prod/streams/stable/builds/41.20261125.0/release.json", images: [], alreadyPromoted: false }, NOW)],
    ["pipeline.change-set.queued", BROKEN],
    ["pipeline.compose.queued", { change_set_id: BROKEN.change_set_id, compose_id: composeOf(BROKEN.change_set_id), version: "1.0.0", generated_at: NOW.toISOString() }],
    ["pipeline.compose.complete", composeComplete(BROKEN.change_set_id, COMMIT, "41.20261126.0")],
    ["ci.productmd-compose.test.queued", queuedBody(podman, links, broken)],
    ["ci.productmd-compose.test.complete", completeBody(podman, run("failed"), { ...links, outputUrls: [LOG] }, broken)],
    ["resultsdb.result.new", result(podman, "FAILED", broken)],
    ["resultsdb.result.new", result(ostree, "QUEUED", broken)],
    [
      "greenwave.decision.update",
      decision(COMMIT, false, [
        { ...requirementOn(COMMIT), type: "test-result-failed", testcase: "atomic-ci.podman.tests.functional", result_id: 101, result_state: "FAILED" },
        { ...requirementOn(COMMIT), type: "test-result-missing", testcase: "atomic-ci.ostree.tests.functional", result_id: 102, result_state: "QUEUED", details: "latest result is QUEUED" },
      ]),
    ],
    [
      "waiverdb.waiver.new",
      { id: 7, subject_type: "compose", subject_identifier: COMMIT, testcase: "atomic-ci.compose.image-tests.functional", product_version: "fedora-41", waived: true, comment: "qemu flake, https://tracker.example/42", username: "jdoe", proxied_by: null, scenario: null, timestamp: NOW.toISOString() },
    ],
    ["pipeline.release.held", heldBody("stable", candidate(BROKEN.change_set_id, COMMIT, "41.20261126.0"), "41.20261126.0", [{ kind: "gate", detail: "atomic_ci_compose_gate is not satisfied" }], NOW)],
    ["pipeline.release.hold-set", holdChangeBody("testing", "ops-alice", "mirror outage, https://tracker.example/77", NOW)],
    ["pipeline.change-set.queued", EVIL],
  ];
  for (const [topic, body] of sequence) await publish(topic, body);
  await waitForSeq(sequence.length);

  profile = await mkdtemp(join(tmpdir(), "atomic-ci-dashboard-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${base}/`);
  await page.locator("#live.pass").waitFor({ timeout: 10_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await group?.shutdown("test done");
  if (profile) await rm(profile, { recursive: true, force: true });
});

describe("the dashboard in Chromium", () => {
  it("lists the change set with its stage, its compose, tests with links to logs and the failing requirement in plain words", async () => {
    const broken = page.locator(`section.changeset[id="${BROKEN.change_set_id}"]`);
    await expect(broken.locator('[data-role="stage"]').textContent()).resolves.toBe("gate failed");
    await expect(broken.textContent()).resolves.toContain("podman-5.3.0-1.fc41");
    await expect(broken.locator(".compose code").first().textContent()).resolves.toBe(composeOf(BROKEN.change_set_id));
    const requirements = await broken.locator(".requirements li").allTextContents();
    expect(requirements).toEqual([
      `podman's test atomic-ci.podman.tests.functional failed on compose ${COMMIT.slice(0, 12)}`,
      `ostree's test atomic-ci.ostree.tests.functional has not run yet on compose ${COMMIT.slice(0, 12)} (queued)`,
    ]);
    const failedTest = broken.locator("tr.test", { hasText: "atomic-ci.podman.tests.functional" });
    await expect(failedTest.locator(".badge").textContent()).resolves.toBe("failed");
    await expect(failedTest.locator("a", { hasText: "log" }).getAttribute("href")).resolves.toBe(LOG);

    const good = page.locator(`section.changeset[id="${GOOD.change_set_id}"]`);
    await expect(good.locator('[data-role="stage"]').textContent()).resolves.toBe("released to stable");
  });

  it("shows waivers, holds and releases per stream", async () => {
    await expect(page.locator("tr.waiver").first().textContent()).resolves.toContain("atomic-ci.compose.image-tests.functional");
    await expect(page.locator("tr.waiver").first().textContent()).resolves.toContain("qemu flake");
    const stable = page.locator('section.stream[data-stream="stable"]');
    await expect(stable.locator("h3 .badge").textContent()).resolves.toBe("at 41.20261125.0");
    await expect(stable.locator("ul.releases").textContent()).resolves.toContain(GOOD_COMMIT.slice(0, 12));
    await expect(stable.locator("ul.held").textContent()).resolves.toContain("gate — atomic_ci_compose_gate is not satisfied");
    const testing = page.locator('section.stream[data-stream="testing"]');
    await expect(testing.locator(".hold").textContent()).resolves.toContain("on hold by ops-alice: mirror outage");
  });

  it("shows a hostile package name as text and runs nothing from it", async () => {
    const evil = page.locator(`section.changeset[id="${EVIL.change_set_id}"]`);
    await expect(evil.locator("ul.members").textContent()).resolves.toBe(`${HOSTILE}-1.0-1.fc41`);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator("script").count()).toBe(1);
  });

  it("updates live: one more message changes the page without a reload", async () => {
    await page.evaluate(() => ((globalThis as unknown as { marker?: number }).marker = 42));
    const before = Number(await page.locator("body").getAttribute("data-seq"));
    await publish("pipeline.change-set.queued", LATE);
    await publish("pipeline.release.hold-lifted", holdChangeBody("testing", "ops-alice", "mirror back", new Date()));
    await page.locator(`section.changeset[id="${LATE.change_set_id}"]`).waitFor({ timeout: 10_000 });
    await page.locator('section.stream[data-stream="testing"] .hold').waitFor({ state: "detached", timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    expect(Number(await page.locator("body").getAttribute("data-seq"))).toBe(before + 2);
    // The new change set is listed first (newest first) and still nothing of the hostile name ran.
    await expect(page.locator("section.changeset").first().getAttribute("id")).resolves.toBe(LATE.change_set_id);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it("looks like a dashboard in a screenshot: not blank, and the failed gate's badge is red", async () => {
    const png = await page.screenshot({ fullPage: false });
    const image = decodePng(png);
    expect(image.width).toBe(1280);
    const whole = { x: 0, y: 0, width: image.width, height: image.height };
    const notWhite = shareOf(image, whole, (r, g, b) => r < 235 || g < 235 || b < 235);
    // Text, borders and badges: a blank (or unstyled, all-white) page has next to none.
    expect(notWhite).toBeGreaterThan(0.02);
    const badge = page.locator(`section.changeset[id="${BROKEN.change_set_id}"] [data-role="stage"]`);
    await badge.scrollIntoViewIfNeeded();
    const box = await badge.boundingBox();
    if (!box) throw new Error("the stage badge is not visible");
    const shot = decodePng(await page.screenshot());
    // #c62828: most of the badge is that red (the rest is its white text and rounded corners).
    const red = shareOf(shot, box, (r, g, b) => Math.abs(r - 0xc6) < 24 && Math.abs(g - 0x28) < 24 && Math.abs(b - 0x28) < 24);
    expect(red).toBeGreaterThan(0.5);
    const green = page.locator(`section.changeset[id="${GOOD.change_set_id}"] [data-role="stage"]`);
    await green.scrollIntoViewIfNeeded();
    const greenBox = await green.boundingBox();
    if (!greenBox) throw new Error("the released badge is not visible");
    const greenShot = decodePng(await page.screenshot());
    expect(shareOf(greenShot, greenBox, (r, g, b) => Math.abs(r - 0x2e) < 24 && Math.abs(g - 0x7d) < 24 && Math.abs(b - 0x32) < 24)).toBeGreaterThan(0.5);
  });
});
