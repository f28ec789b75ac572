import { describe, expect, it } from "vitest";
import type { Decision } from "@atomic-ci/gating";
import { UngatedChanges } from "./ungated.js";

const T0 = new Date("2026-11-26T08:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function decision(satisfied: boolean, missing: boolean): Decision {
  const requirement = missing
    ? { type: "test-result-missing", testcase: "atomic-ci.compose.host-tests.functional", subject_type: "compose", subject_identifier: "c1", scenario: null, result_state: "QUEUED" }
    : { type: "test-result-failed", testcase: "atomic-ci.compose.host-tests.functional", subject_type: "compose", subject_identifier: "c1", scenario: null, result_id: 1, result_state: "FAILED", item: { type: "compose", item: "c1" } };
  return {
    policies_satisfied: satisfied,
    summary: satisfied ? "All required tests passed" : "1 of 1 required tests failed",
    applicable_policies: ["compose-gate"],
    satisfied_requirements: [],
    unsatisfied_requirements: satisfied ? [] : [requirement],
  } as unknown as Decision;
}

describe("UngatedChanges: the age of the oldest change set without a final compose-gate decision", () => {
  it("ages a queued change set until its compose gets a final decision", () => {
    const u = new UngatedChanges();
    expect(u.oldestAgeSeconds(T0)).toBe(0);
    u.onQueued("cs-1", T0);
    u.onQueued("cs-2", at(60));
    expect(u.oldestAgeSeconds(at(100))).toBe(100);
    u.onComposed("cs-1", "c1");
    // Tests still queued: not final.
    u.onDecision("c1", decision(false, true));
    expect(u.oldestAgeSeconds(at(100))).toBe(100);
    // Rejected with nothing left to wait for: final.
    u.onDecision("c1", decision(false, false));
    expect(u.oldestAgeSeconds(at(100))).toBe(40);
    u.onComposeFailed("cs-2");
    expect(u.oldestAgeSeconds(at(100))).toBe(0);
  });

  it("settles every change set composed to one commit, and forgets the oldest beyond its bound", () => {
    const u = new UngatedChanges(2);
    u.onQueued("a", T0);
    u.onQueued("b", at(10));
    u.onComposed("a", "c");
    u.onComposed("b", "c");
    u.onDecision("c", decision(true, false));
    expect(u.size).toBe(0);
    u.onQueued("x", T0);
    u.onQueued("y", at(1));
    u.onQueued("z", at(2));
    expect(u.size).toBe(2);
    expect(u.oldestAgeSeconds(at(3))).toBe(2);
  });
});
