import { defaultRegistry, validateBody } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import {
  buildMember,
  changeSetQueued,
  COMMIT,
  composeComplete,
  composeError,
  composeId,
  composeQueued,
  decision,
  delivered,
  failedRequirement,
  held,
  holdSet,
  LOG,
  result,
  testComplete,
  testQueued,
  waiver,
} from "./fixtures.test-helper.js";
import { DASHBOARD_TOPICS, emptyState, reduce, testKey, type DashboardState, type ProjectionInput } from "./projection.js";

const PREFIX = "org.atomic-ci.dev.";
const msg = (topic: string, body: unknown): ProjectionInput => ({ topic: `${PREFIX}${topic}`, body, sentAt: "2026-11-26T09:30:00Z" });
const fold = (messages: ProjectionInput[], state = emptyState(), limits = { maxChangeSets: 100, maxWaivers: 50, maxReleasesPerStream: 10 }) =>
  messages.reduce((s, m) => reduce(s, m, limits), state);

const podman = changeSetQueued([buildMember("podman-5.3.0-1.fc41")]);
const CS = podman.change_set_id;

describe("the fixtures", () => {
  it("are valid messages of their topics", () => {
    const bodies: [string, unknown][] = [
      ["pipeline.change-set.queued", podman],
      ["pipeline.compose.queued", composeQueued(CS)],
      ["pipeline.compose.complete", composeComplete(CS)],
      ["pipeline.compose.error", composeError(CS)],
      ["ci.productmd-compose.test.queued", testQueued(CS, "podman")],
      ["ci.productmd-compose.test.complete", testComplete(CS, "podman", "failed")],
      ["resultsdb.result.new", result(CS, "podman", "FAILED", 7)],
      ["greenwave.decision.update", decision(COMMIT, false, [failedRequirement(COMMIT, "podman")])],
      ["waiverdb.waiver.new", waiver(1, COMMIT, "atomic-ci.podman.tests.functional")],
      ["pipeline.release.held", held("stable", COMMIT, CS)],
      ["pipeline.release.delivered", delivered("stable", COMMIT, CS)],
      ["pipeline.release.hold-set", holdSet("stable")],
    ];
    for (const [topic, body] of bodies) {
      const schema = defaultRegistry.forTopic(`${PREFIX}${topic}`);
      if (!schema) throw new Error(`no schema for ${topic}`);
      expect(validateBody(schema, body).ok, topic).toBe(true);
      expect(DASHBOARD_TOPICS, topic).toContain(topic);
    }
  });
});

describe("reduce", () => {
  it("follows a change set from queued through compose, tests, gate and release", () => {
    const s = fold([
      msg("pipeline.change-set.queued", podman),
      msg("pipeline.compose.queued", composeQueued(CS)),
      msg("pipeline.compose.complete", composeComplete(CS)),
      msg("ci.productmd-compose.test.queued", testQueued(CS, "podman")),
      msg("ci.productmd-compose.test.complete", testComplete(CS, "podman", "failed")),
      msg("resultsdb.result.new", result(CS, "podman", "FAILED", 7)),
      msg("greenwave.decision.update", decision(COMMIT, false, [failedRequirement(COMMIT, "podman")])),
      msg("waiverdb.waiver.new", waiver(1, COMMIT, "atomic-ci.podman.tests.functional")),
      msg("pipeline.release.held", held("stable", COMMIT, CS)),
      msg("pipeline.release.hold-set", holdSet("stable")),
    ]);
    expect(s.seq).toBe(10);
    expect(s.order).toEqual([CS]);
    expect(s.changeSets[CS]).toMatchObject({ known: true, reason: "koji-build", members: ["podman-5.3.0-1.fc41"], nvrs: ["podman-5.3.0-1.fc41"], composes: [composeId(CS)] });
    expect(s.composes[composeId(CS)]).toMatchObject({ state: "complete", commit: COMMIT, osVersion: "41.20261126.0" });
    const test = s.tests[testKey(composeId(CS), "atomic-ci.podman.tests.functional", "x86_64.bwrap")];
    expect(test).toMatchObject({ state: "failed", log: LOG, component: "podman", note: "FAIL: podman run exited 125" });
    expect(Object.values(s.decisions)).toEqual([expect.objectContaining({ subjectIdentifier: COMMIT, satisfied: false, context: "atomic_ci_compose_gate" })]);
    expect(s.waivers.map((w) => w.id)).toEqual([1]);
    expect(s.streams["stable"]?.held[COMMIT]?.reasons).toEqual([expect.objectContaining({ kind: "freeze" })]);
    expect(s.streams["stable"]?.manualHold).toMatchObject({ by: "ops-alice" });

    const after = fold([msg("pipeline.release.delivered", delivered("stable", COMMIT, CS)), msg("pipeline.release.hold-lifted", holdSet("stable", 14))], s);
    expect(after.streams["stable"]?.held).toEqual({});
    expect(after.streams["stable"]?.manualHold).toBeUndefined();
    expect(after.streams["stable"]?.delivered.map((d) => d.commit)).toEqual([COMMIT]);
  });

  it("is idempotent and order-tolerant: a redelivery changes nothing, a compose before its change set gets a placeholder", () => {
    const first = fold([msg("pipeline.compose.complete", composeComplete(CS))]);
    expect(first.changeSets[CS]).toMatchObject({ known: false, composes: [composeId(CS)] });
    const full = fold([msg("pipeline.compose.queued", composeQueued(CS)), msg("pipeline.change-set.queued", podman)], first);
    // A late `queued` does not take a complete compose back.
    expect(full.composes[composeId(CS)]?.state).toBe("complete");
    expect(full.changeSets[CS]?.known).toBe(true);
    const again = fold([msg("pipeline.change-set.queued", podman), msg("pipeline.compose.complete", composeComplete(CS))], full);
    expect({ ...again, seq: 0, updatedAt: "" }).toEqual({ ...full, seq: 0, updatedAt: "" });
  });

  it("keeps a test's final state over an older queued message, and takes a newer run", () => {
    const done = fold([msg("pipeline.compose.complete", composeComplete(CS)), msg("ci.productmd-compose.test.complete", testComplete(CS, "podman", "failed", 4))]);
    const key = testKey(composeId(CS), "atomic-ci.podman.tests.functional", "x86_64.bwrap");
    expect(fold([msg("ci.productmd-compose.test.queued", testQueued(CS, "podman", 3))], done).tests[key]?.state).toBe("failed");
    const rerun = fold([msg("ci.productmd-compose.test.queued", testQueued(CS, "podman", 20))], done);
    expect(rerun.tests[key]?.state).toBe("queued");
  });

  it("ignores unknown topics and bodies that do not match their schema", () => {
    const s = emptyState();
    expect(reduce(s, msg("buildsys.tag", { any: 1 }))).toBe(s);
    expect(reduce(s, msg("pipeline.compose.complete", { change_set_id: "nope" }))).toBe(s);
    expect(reduce(s, msg("greenwave.decision.update", "a string"))).toBe(s);
  });

  it("remembers the newest change sets only, and forgets what hangs off the others", () => {
    const limits = { maxChangeSets: 2, maxWaivers: 2, maxReleasesPerStream: 1 };
    let s: DashboardState = emptyState();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const cs = changeSetQueued([buildMember(`pkg${i}-1.0-1.fc41`)], i);
      ids.push(cs.change_set_id);
      const commit = String(i).repeat(64);
      s = fold(
        [
          msg("pipeline.change-set.queued", cs),
          msg("pipeline.compose.complete", composeComplete(cs.change_set_id, commit)),
          msg("resultsdb.result.new", result(cs.change_set_id, `pkg${i}`, "PASSED", i + 1, 4, commit)),
          msg("greenwave.decision.update", decision(commit, true, [])),
          msg("waiverdb.waiver.new", waiver(i + 1, commit, "x.y.z")),
          msg("pipeline.release.delivered", delivered("stable", commit, cs.change_set_id, 12 + i)),
        ],
        s,
        limits,
      );
    }
    expect(s.order).toEqual([ids[3], ids[2]]);
    expect(Object.keys(s.changeSets).sort()).toEqual([ids[2], ids[3]].sort());
    expect(Object.keys(s.composes)).toHaveLength(2);
    expect(Object.keys(s.tests)).toHaveLength(2);
    expect(Object.keys(s.decisions)).toHaveLength(2);
    expect(s.waivers.map((w) => w.id)).toEqual([4, 3]);
    expect(s.streams["stable"]?.delivered).toHaveLength(1);
    // Nothing else piles up: the state of 4 change sets is that of the 2 kept.
    expect(JSON.stringify(s).length).toBeLessThan(10_000);
  });

  it("keeps a bounded number of decisions, dropping the stalest", () => {
    const limits = { maxChangeSets: 1, maxWaivers: 1, maxReleasesPerStream: 1 };
    let s = emptyState();
    for (let i = 0; i < 25; i++) s = reduce(s, msg("greenwave.decision.update", decision(String(i % 10).repeat(64).slice(0, 64), true, [], `ctx${i}`)), limits);
    s = reduce(s, msg("greenwave.decision.update", decision("3".repeat(64), false, [], "ctx15")), limits);
    expect(Object.keys(s.decisions)).toHaveLength(10);
    expect(Object.keys(s.decisions).at(-1)).toBe(`compose|${"3".repeat(64)}|ctx15`);
    expect(Object.keys(s.decisions)[0]).toBe(`compose|${"6".repeat(64)}|ctx16`);
  });

  it("counts ignored upstream messages and records culprits", () => {
    const s = fold([
      msg("pipeline.change-set.ignored", { version: "1.0.0", generated_at: "2026-11-26T09:00:00Z", source_message_id: "m1", source_topic: "org.fedoraproject.prod.buildsys.tag", reason_code: "not-in-host", reason: "not a host package", package: "emacs" }),
      msg("pipeline.culprits.found", {
        change_set_id: CS,
        version: "1.0.0",
        generated_at: "2026-11-26T09:00:00Z",
        culprits: [{ kind: "combination", members: ["build:libfoo-2.0-1.fc41", "build:foo-cli-2.0-1.fc41"], rejected: ["build:foo-cli-2.0-1.fc41"], failing_tests: ["atomic-ci.foo-cli.tests.functional"], change_set_id: CS }],
        accepted: ["build:libfoo-2.0-1.fc41"],
        composes_tried: 3,
      }),
    ]);
    expect(s.ignored).toBe(1);
    expect(s.changeSets[CS]?.culprits?.summary).toEqual(["fails in combination: build:foo-cli-2.0-1.fc41 (with build:libfoo-2.0-1.fc41) — failing atomic-ci.foo-cli.tests.functional"]);
  });
});
