import { describe, expect, it } from "vitest";
import type { ComposeComplete, GreenwaveDecisionUpdate } from "@atomic-ci/messages";
import { COMPOSE_GATE_CONTEXT, ComposeGateTrigger } from "./trigger.js";

const commit = (c: string) => c.repeat(64);
const compose = (c: string, n = 0): ComposeComplete =>
  ({ change_set_id: `cs-${c.repeat(16)}`, compose_id: `x-${n}`, commit: commit(c), ref: "r", repo: { location: "/r" } }) as unknown as ComposeComplete;
const decision = (c: string, satisfied: boolean, over: Partial<GreenwaveDecisionUpdate> = {}): GreenwaveDecisionUpdate => ({
  subject_type: "compose",
  subject_identifier: commit(c),
  product_version: "fedora-41",
  decision_context: COMPOSE_GATE_CONTEXT,
  policies_satisfied: satisfied,
  summary: satisfied ? "All required tests passed" : "1 of 2 required tests failed",
  applicable_policies: ["p"],
  unsatisfied_requirements: [],
  ...over,
});

describe("ComposeGateTrigger", () => {
  it("builds a remembered compose when its gate is satisfied, and again for later composes and decisions of that commit", () => {
    const t = new ComposeGateTrigger(10);
    expect(t.onCompose(compose("a"))).toEqual({ wait: "waiting for its compose gate" });
    expect(t.onDecision(decision("a", false))).toEqual({ wait: "the compose gate is not satisfied" });
    expect(t.onDecision(decision("a", true))).toEqual({ build: compose("a") });
    t.done(commit("a"));
    expect(t.wasBuilt(commit("a"))).toBe(true);
    // Another change set of the same commit: built again (images reused), announced for it.
    expect(t.onCompose(compose("a", 1))).toEqual({ build: compose("a", 1) });
    // Decided again (e.g. by a gatekeeper that lost its state): announced again, so lost image tests run again.
    expect(t.onDecision(decision("a", true))).toEqual({ build: compose("a", 1) });
  });

  it("builds a compose whose gate passed before a restart, as the builder's disk says", () => {
    const t = new ComposeGateTrigger(10);
    t.markPassed(commit("g"));
    expect(t.onCompose(compose("g"))).toEqual({ build: compose("g") });
  });

  it("ignores other contexts and subject types", () => {
    const t = new ComposeGateTrigger(10);
    t.onCompose(compose("b"));
    expect(t.onDecision(decision("b", true, { decision_context: "atomic_ci_image_gate" }))).toEqual({ wait: `decision context atomic_ci_image_gate, not ${COMPOSE_GATE_CONTEXT}` });
    expect(t.onDecision(decision("b", true, { subject_type: "koji_build" }))).toEqual({ wait: "subject type koji_build, not compose" });
  });

  it("a decision before its compose.complete: the compose builds as it arrives", () => {
    const t = new ComposeGateTrigger(10);
    expect(t.onDecision(decision("c", true))).toEqual({ wait: "no compose.complete remembered for this commit (yet)" });
    expect(t.onCompose(compose("c"))).toEqual({ build: compose("c") });
  });

  it("forgets the oldest composes past its bound; the latest compose.complete of a commit wins", () => {
    const t = new ComposeGateTrigger(2);
    t.onCompose(compose("d"));
    t.onCompose(compose("e"));
    t.onCompose(compose("e", 1));
    t.onCompose(compose("f"));
    expect(t.waiting).toBe(2);
    expect("wait" in t.onDecision(decision("d", true))).toBe(true);
    expect(t.onDecision(decision("e", true))).toEqual({ build: compose("e", 1) });
    expect(t.onDecision(decision("f", true))).toEqual({ build: compose("f") });
  });
});
