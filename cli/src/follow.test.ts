import { defaultRegistry, validateBody } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONTEXTS, describeRequirement, followMessage, followSummary, followTimeout, initialFollowState, type FollowState, type FollowTarget } from "./follow.js";
import { FAILED, PipelineScript, RUNNING, type Said } from "./follow.test-helper.js";

const REQUEST = "5f0c3a52-8d2e-4c7a-9a59-0d5b2a1e6f10";
const PREFIX = "org.example.prod";
const GATE = DEFAULT_CONTEXTS.compose;
const IMAGE_GATE = DEFAULT_CONTEXTS.image;

function feed(messages: readonly Said[], target: FollowTarget = "gate"): FollowState {
  return messages.reduce((s, m) => followMessage(s, { topic: `${PREFIX}.${m.topic}`, headers: m.headers, body: m.body }), initialFollowState(REQUEST, target));
}

const p = new PipelineScript();
const other = new PipelineScript("cs-00000000000000bb", "d");

describe("the script's messages", () => {
  it("are valid per the schemas of their topics", () => {
    const all = [
      p.queued(REQUEST),
      p.ignored(REQUEST),
      p.compose("queued"),
      p.compose("running"),
      p.complete(),
      p.composeError(),
      p.test("a", "queued"),
      p.test("a", "running"),
      p.test("a", "complete", "failed"),
      p.test("a", "error"),
      p.decision(GATE, false, [FAILED]),
      p.decision(GATE, false, [RUNNING]),
      p.image("queued"),
      p.image("complete"),
      p.image("error"),
      p.held("freeze", "testing is frozen"),
      p.delivered(),
    ];
    for (const m of all) {
      const schema = defaultRegistry.forTopic(`${PREFIX}.${m.topic}`);
      expect(schema, m.topic).toBeDefined();
      if (!schema) continue;
      const result = validateBody(schema, m.body);
      expect(result.ok ? [] : result.issues, m.topic).toEqual([]);
    }
  });
});

describe("followMessage", () => {
  it("goes queued → composing → composed → tests → compose gate passed, and ends there by default", () => {
    let s = feed([p.queued(REQUEST)]);
    expect([s.step, s.changeSetId, s.outcome]).toEqual([0, p.changeSetId, undefined]);
    s = feed([p.queued(REQUEST), p.compose("queued"), p.compose("running")]);
    expect([s.step, s.composeId, s.detail]).toEqual([1, p.composeId, `compose ${p.composeId} running`]);
    const through = [p.queued(REQUEST), p.compose("running"), p.complete(), p.test("a", "queued"), p.test("b", "queued"), p.test("a", "complete")];
    s = feed(through);
    expect([s.step, s.commit, s.reused, s.detail]).toEqual([3, p.commit, false, "tests 1 passed, 1 queued"]);
    s = feed([...through, p.decision(GATE, false, [RUNNING])]);
    expect(s.outcome).toBeUndefined();
    expect(s.composeGate).toMatchObject({ satisfied: false, final: false, unsatisfied: ["atomic-ci.compose.host-tests.functional is running"] });
    s = feed([...through, p.test("b", "complete"), p.decision(GATE, true)]);
    expect(s.outcome).toEqual({ ok: true, stage: "compose gate passed", reason: "All required tests (2 total) have passed or been waived" });
    expect(s.step).toBe(4);
    expect(followSummary(s)).toMatchObject({ ok: true, stage: "compose gate passed", change_set_id: p.changeSetId, commit: p.commit, tests: { passed: 2 } });
  });

  it("fails at the compose gate once every test is done, naming what failed", () => {
    const s = feed([p.queued(REQUEST), p.complete(), p.test("a", "queued"), p.test("a", "complete", "failed"), p.decision(GATE, false, [FAILED])]);
    expect(s.outcome).toEqual({ ok: false, stage: "compose gate failed", reason: "Of 2 required tests, 1 test failed: atomic-ci.compose.host-tests.functional failed" });
  });

  it("does not call an unsatisfied gate failed while a test of the change set still runs", () => {
    const s = feed([p.queued(REQUEST), p.complete(), p.test("a", "complete", "failed"), p.test("b", "running"), p.decision(GATE, false, [FAILED])]);
    expect(s.outcome).toBeUndefined();
    expect(s.composeGate?.final).toBe(false);
  });

  it("ends at ignored, and at a compose error", () => {
    expect(feed([p.ignored(REQUEST)]).outcome).toMatchObject({ ok: false, stage: "ignored", reason: expect.stringContaining("unknown-change-set") as unknown });
    expect(feed([p.queued(REQUEST), p.compose("running"), p.composeError()]).outcome).toEqual({
      ok: false,
      stage: "compose error",
      reason: `compose ${p.composeId} failed (compose-failure): nothing provides libfoo.so.2`,
    });
  });

  it("leaves alone what is about other requests and other change sets", () => {
    const s = feed([other.queued("another-request"), other.ignored("another-request"), p.queued(REQUEST), other.complete(), other.composeError(), other.test("x", "queued"), other.decision(GATE, false, [FAILED])]);
    expect([s.step, s.changeSetId, s.commit, s.tests, s.outcome]).toEqual([0, p.changeSetId, undefined, {}, undefined]);
  });

  it("follows on to delivery with --wait-for delivered: images, image gate, held for a freeze, delivered", () => {
    const upToGate = [p.queued(REQUEST), p.complete(true), p.decision(GATE, true)];
    let s = feed(upToGate, "delivered");
    expect([s.step, s.outcome]).toEqual([4, undefined]);
    s = feed([...upToGate, p.image("queued"), p.image("complete"), p.decision(IMAGE_GATE, true), p.held("freeze", "testing is frozen until Monday")], "delivered");
    expect([s.step, s.outcome, s.release?.event, s.detail]).toEqual([6, undefined, "held", "held from testing: freeze: testing is frozen until Monday"]);
    s = feed([...upToGate, p.image("complete"), p.decision(IMAGE_GATE, true), p.delivered()], "delivered");
    expect(s.outcome).toEqual({ ok: true, stage: "delivered", reason: "delivered to testing as 41.20260102.0 (fedora/testing/x86_64/atomic-host)" });
    expect(s.step).toBe(7);
    expect(feed([...upToGate, p.image("error")], "delivered").outcome).toMatchObject({ ok: false, stage: "image error" });
    expect(feed([...upToGate, p.image("complete"), p.decision(IMAGE_GATE, false, [FAILED])], "delivered").outcome).toMatchObject({ ok: false, stage: "image gate failed" });
  });

  it("times out where it stood", () => {
    expect(followTimeout(initialFollowState(REQUEST), 30).outcome).toEqual({ ok: false, stage: "timeout", reason: "no outcome within 30 s (no answer from the trigger-listener)" });
    const s = followTimeout(feed([p.queued(REQUEST), p.compose("running")]), 30);
    expect(s.outcome?.reason).toBe(`no outcome within 30 s (composing: compose ${p.composeId} running)`);
    // An outcome already reached stays.
    expect(followTimeout(feed([p.ignored(REQUEST)]), 30).outcome?.stage).toBe("ignored");
  });
});

describe("describeRequirement", () => {
  it("says what is wrong in plain words, naming a build folded into the compose's decision", () => {
    expect(describeRequirement({ type: "test-result-failed", testcase: "fedora-ci.koji-build.tier0.functional", subject_type: "koji_build", subject_identifier: "podman-5.3.0-1.fc41" })).toBe(
      "podman-5.3.0-1.fc41: fedora-ci.koji-build.tier0.functional failed",
    );
    expect(describeRequirement({ type: "test-result-errored", testcase: "t.a.b", error_reason: "timed out", scenario: "x86_64" })).toBe("t.a.b (x86_64) errored: timed out");
    expect(describeRequirement({ type: "test-result-missing", testcase: "t.a.b" })).toBe("t.a.b has no result");
    expect(describeRequirement({ type: "invalid-gating-yaml", subject_type: "koji_build", subject_identifier: "foo-1-1", details: "document 1: rules: required" })).toBe(
      "foo-1-1: its gating.yaml is invalid: document 1: rules: required",
    );
  });
});
