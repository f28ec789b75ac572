import { describe, expect, it } from "vitest";
import { allowedAt, decide, nextOpening, plan, reasonsKey, scheduleBlock, windowStart, type CandidateView, type DecideInput, type HoldReason } from "./decide.js";
import { parseDeliveryPolicy, type DeliveryPolicy, type Schedule } from "./policy.js";

const GATES = ["atomic_ci_compose_gate", "atomic_ci_image_gate"];
const C1 = "1".repeat(64);
const C2 = "2".repeat(64);
const C3 = "3".repeat(64);

const at = (iso: string) => new Date(iso);

function policy(yaml: string): DeliveryPolicy {
  return parseDeliveryPolicy(yaml);
}

const BASIC = policy(`
streams:
  testing: {}
  stable:
    from: testing
    soak: 24h
`);

function candidate(commit: string, extra: Partial<CandidateView> = {}): CandidateView {
  return {
    commit,
    version: `41.${commit.slice(0, 1)}`,
    order: `2026-11-0${commit.slice(0, 1)}T00:00:00.000Z`,
    missing: [],
    gates: Object.fromEntries(GATES.map((g) => [g, { satisfied: true, summary: "All required tests passed" }])),
    deliveredTo: {},
    ...extra,
  };
}

function input(extra: Partial<DecideInput> = {}): DecideInput {
  return { policy: BASIC, stream: "testing", now: at("2026-11-26T12:00:00Z"), state: {}, candidate: candidate(C1), gates: GATES, ...extra };
}

function kinds(reasons: HoldReason[]): string[] {
  return reasons.map((r) => r.kind);
}

function held(result: ReturnType<typeof decide>): HoldReason[] {
  if (result.type !== "hold") throw new Error(`expected a hold, got ${JSON.stringify(result)}`);
  return result.reasons;
}

function schedule(yaml: string): Schedule {
  const p = policy(`streams:\n  s:\n    schedule: ${yaml}\n`);
  const s = p.streams.s?.schedule;
  if (!s) throw new Error("no schedule");
  return s;
}

describe("decide", () => {
  it("delivers a compose whose gates passed to a stream fed by the gates, with nothing in the way", () => {
    expect(decide(input())).toEqual({ type: "deliver" });
  });

  it("holds a compose until every gate context has a satisfied decision", () => {
    const c = candidate(C1, { gates: { atomic_ci_compose_gate: { satisfied: false, summary: "1 of 2 required tests failed" } } });
    const reasons = held(decide(input({ candidate: c })));
    expect(reasons).toEqual([
      { kind: "gate", detail: "atomic_ci_compose_gate not satisfied: 1 of 2 required tests failed" },
      { kind: "gate", detail: "no decision at atomic_ci_image_gate yet" },
    ]);
  });

  it("holds a compose whose compose or images are not known yet", () => {
    const reasons = held(decide(input({ candidate: candidate(C1, { missing: ["its images (pipeline.image.complete)"] }) })));
    expect(reasons).toEqual([{ kind: "incomplete", detail: "waiting for its images (pipeline.image.complete)" }]);
  });

  it("holds for a stream that is not in the policy", () => {
    expect(held(decide(input({ stream: "nightly" })))).toEqual([{ kind: "policy", detail: "stream nightly is not in the delivery policy" }]);
  });

  it("holds a manually held stream, naming who held it and why", () => {
    const reasons = held(decide(input({ hold: { by: "alice", reason: "https://tracker/1", at: at("2026-11-26T08:00:00Z") } })));
    expect(reasons).toEqual([{ kind: "manual-hold", detail: "held by alice since 2026-11-26T08:00:00Z: https://tracker/1" }]);
  });

  it("a permanent promotion failure is a reason", () => {
    expect(kinds(held(decide(input({ candidate: candidate(C1, { failed: { testing: "version taken" } }) }))))).toEqual(["error"]);
  });

  describe("freezes", () => {
    const frozen = policy(`
streams:
  testing: {}
  stable: {from: testing}
freezes:
  - {start: "2026-12-20T00:00:00Z", end: "2027-01-04T00:00:00Z", reason: "holidays", streams: [stable]}
  - {start: "2026-11-26T10:00:00Z", end: "2026-11-26T14:00:00Z", reason: "datacenter move"}
`);
    it("holds during a freeze, until its end", () => {
      const reasons = held(decide(input({ policy: frozen, now: at("2026-11-26T12:00:00Z") })));
      expect(reasons).toEqual([{ kind: "freeze", detail: "frozen 2026-11-26T10:00:00Z to 2026-11-26T14:00:00Z: datacenter move", until: at("2026-11-26T14:00:00Z") }]);
    });
    it("the start is inside the freeze, the end is not", () => {
      expect(decide(input({ policy: frozen, now: at("2026-11-26T10:00:00Z") })).type).toBe("hold");
      expect(decide(input({ policy: frozen, now: at("2026-11-26T09:59:59.999Z") })).type).toBe("deliver");
      expect(decide(input({ policy: frozen, now: at("2026-11-26T14:00:00Z") })).type).toBe("deliver");
    });
    it("a freeze of other streams does not hold this one", () => {
      expect(decide(input({ policy: frozen, now: at("2026-12-24T12:00:00Z") })).type).toBe("deliver");
      const stable = candidate(C1, { deliveredTo: { testing: at("2026-12-01T00:00:00Z") } });
      expect(kinds(held(decide(input({ policy: frozen, stream: "stable", candidate: stable, now: at("2026-12-24T12:00:00Z") }))))).toEqual(["freeze"]);
    });
  });

  describe("soak", () => {
    it("a promoted stream takes only what is in its source stream", () => {
      expect(held(decide(input({ stream: "stable" })))).toEqual([{ kind: "soak", detail: "not delivered to testing yet" }]);
    });
    it("waits until the release has been in the source stream for the soak time", () => {
      const c = candidate(C1, { deliveredTo: { testing: at("2026-11-25T18:00:00Z") } });
      expect(held(decide(input({ stream: "stable", candidate: c, now: at("2026-11-26T17:59:59Z") })))).toEqual([
        { kind: "soak", detail: "in testing since 2026-11-25T18:00:00Z; 1d of soak needed", until: at("2026-11-26T18:00:00Z") },
      ]);
      expect(decide(input({ stream: "stable", candidate: c, now: at("2026-11-26T18:00:00Z") }))).toEqual({ type: "deliver" });
    });
    it("without a soak time it may follow at once", () => {
      const p = policy("streams:\n  testing: {}\n  stable: {from: testing}\n");
      const c = candidate(C1, { deliveredTo: { testing: at("2026-11-26T12:00:00Z") } });
      expect(decide(input({ policy: p, stream: "stable", candidate: c })).type).toBe("deliver");
    });
  });

  it("gives every reason at once", () => {
    const p = policy(`
streams:
  testing: {schedule: {days: [mon]}}
freezes:
  - {start: "2026-11-01T00:00:00Z", end: "2026-12-01T00:00:00Z", reason: "freeze"}
`);
    const c = candidate(C1, { missing: ["its images (pipeline.image.complete)"], gates: {} });
    const reasons = held(decide(input({ policy: p, candidate: c, hold: { by: "bob", reason: "r", at: at("2026-11-26T00:00:00Z") } })));
    expect(kinds(reasons)).toEqual(["incomplete", "gate", "gate", "manual-hold", "freeze", "schedule"]);
  });
});

describe("schedules", () => {
  it("allows only the listed weekdays, in UTC", () => {
    const s = schedule("{days: [mon, tue, wed, thu, fri]}");
    expect(allowedAt(s, at("2026-11-27T23:59:59Z"))).toBe(true); // Friday
    expect(allowedAt(s, at("2026-11-28T00:00:00Z"))).toBe(false); // Saturday
    // Saturday 01:00 at UTC+2 is still Friday 23:00 UTC: the zone is UTC.
    expect(allowedAt(s, at("2026-11-28T01:00:00+02:00"))).toBe(true);
    expect(allowedAt(s, at("2026-11-30T00:00:00Z"))).toBe(true); // Monday
  });

  it("allows hours from (inclusive) to (exclusive)", () => {
    const s = schedule("{hours: {from: 9, to: 17}}");
    expect(allowedAt(s, at("2026-11-26T08:59:59Z"))).toBe(false);
    expect(allowedAt(s, at("2026-11-26T09:00:00Z"))).toBe(true);
    expect(allowedAt(s, at("2026-11-26T16:59:59Z"))).toBe(true);
    expect(allowedAt(s, at("2026-11-26T17:00:00Z"))).toBe(false);
  });

  it("hours wrap past midnight when to is smaller than from", () => {
    const s = schedule("{hours: {from: 22, to: 6}}");
    expect(allowedAt(s, at("2026-11-26T21:59:00Z"))).toBe(false);
    expect(allowedAt(s, at("2026-11-26T22:00:00Z"))).toBe(true);
    expect(allowedAt(s, at("2026-11-27T00:30:00Z"))).toBe(true);
    expect(allowedAt(s, at("2026-11-27T05:59:59Z"))).toBe(true);
    expect(allowedAt(s, at("2026-11-27T06:00:00Z"))).toBe(false);
  });

  it("windows are UTC hours, days and weeks starting on Monday", () => {
    expect(windowStart("hour", at("2026-11-26T12:34:56Z"))).toBe(at("2026-11-26T12:00:00Z").getTime());
    expect(windowStart("day", at("2026-11-26T23:59:59Z"))).toBe(at("2026-11-26T00:00:00Z").getTime());
    // Thursday 26 November → Monday 23 November; Sunday 29 → still that Monday; Monday 30 → itself.
    expect(windowStart("week", at("2026-11-26T12:00:00Z"))).toBe(at("2026-11-23T00:00:00Z").getTime());
    expect(windowStart("week", at("2026-11-29T23:59:59Z"))).toBe(at("2026-11-23T00:00:00Z").getTime());
    expect(windowStart("week", at("2026-11-30T00:00:00Z"))).toBe(at("2026-11-30T00:00:00Z").getTime());
  });

  it("at most one release per window: held until the next window", () => {
    const s = schedule("{window: day}");
    const state = { version: "41.1", deliveredAt: at("2026-11-26T00:10:00Z") };
    expect(scheduleBlock(s, at("2026-11-26T23:59:59Z"), state)).toEqual({
      kind: "schedule",
      detail: "one release per day: 41.1 went out at 2026-11-26T00:10:00Z",
      until: at("2026-11-27T00:00:00Z"),
    });
    expect(scheduleBlock(s, at("2026-11-27T00:00:00Z"), state)).toBeUndefined();
    expect(scheduleBlock(s, at("2026-11-26T12:00:00Z"), {})).toBeUndefined();
  });

  it("one per window and allowed hours combine: the next opening satisfies both", () => {
    const s = schedule("{days: [mon, tue, wed, thu, fri], hours: {from: 9, to: 17}, window: day}");
    // Friday 10:00, already released today: not Saturday or Sunday, Monday at 09:00.
    const state = { deliveredAt: at("2026-11-27T09:30:00Z") };
    const block = scheduleBlock(s, at("2026-11-27T10:00:00Z"), state);
    expect(block?.until).toEqual(at("2026-11-30T09:00:00Z"));
    expect(block?.detail).toMatch(/^one release per day/);
  });

  it("outside the hours: held until they open, with the schedule named", () => {
    const s = schedule("{days: [mon, tue, wed, thu, fri], hours: {from: 9, to: 17}}");
    const block = scheduleBlock(s, at("2026-11-28T12:00:00Z"), {});
    expect(block).toEqual({ kind: "schedule", detail: "outside the release hours (mon,tue,wed,thu,fri, 09:00-17:00 UTC)", until: at("2026-11-30T09:00:00Z") });
  });

  it("the next opening is now when the schedule allows it", () => {
    const s = schedule("{hours: {from: 9, to: 17}}");
    expect(nextOpening(s, at("2026-11-26T10:15:00Z"), {})).toEqual(at("2026-11-26T10:15:00Z"));
    expect(nextOpening(s, at("2026-11-26T17:15:00Z"), {})).toEqual(at("2026-11-27T09:00:00Z"));
  });

  it("a week window held on Sunday night opens on Monday", () => {
    const s = schedule("{window: week}");
    const block = scheduleBlock(s, at("2026-11-29T23:00:00Z"), { deliveredAt: at("2026-11-23T08:00:00Z") });
    expect(block?.until).toEqual(at("2026-11-30T00:00:00Z"));
  });
});

describe("plan", () => {
  const base = { policy: BASIC, now: at("2026-11-26T12:00:00Z"), states: {}, holds: {}, gates: GATES };

  it("delivers the newest allowed compose; the older ones are superseded, a newer failing one is held", () => {
    const failing = candidate(C3, { gates: { ...candidate(C3).gates, atomic_ci_compose_gate: { satisfied: false, summary: "1 failed" } } });
    const [testing, stable] = plan({ ...base, candidates: [candidate(C2), failing, candidate(C1)] });
    expect(testing?.deliver?.commit).toBe(C2);
    expect(testing?.superseded.map((c) => c.commit)).toEqual([C1]);
    expect(testing?.held.map((h) => [h.candidate.commit, kinds(h.reasons)])).toEqual([[C3, ["gate"]]]);
    // Nothing is in testing yet: stable has no candidate at all.
    expect(stable).toEqual({ stream: "stable", held: [], superseded: [] });
  });

  it("what a stream already has, or anything older than it, is not delivered again", () => {
    const c1 = candidate(C1, { deliveredTo: { testing: at("2026-11-01T00:00:00Z") } });
    const [testing] = plan({ ...base, states: { testing: { order: candidate(C2).order, commit: C2 } }, candidates: [c1, candidate(C2, { deliveredTo: { testing: at("2026-11-02T00:00:00Z") } })] });
    expect(testing).toEqual({ stream: "testing", held: [], superseded: [] });
    const [again] = plan({ ...base, states: { testing: { order: candidate(C2).order } }, candidates: [candidate(C1)] });
    expect(again?.superseded.map((c) => c.commit)).toEqual([C1]);
  });

  it("streams come in promotion order and a promoted stream takes what soaked long enough", () => {
    const c1 = candidate(C1, { deliveredTo: { testing: at("2026-11-24T00:00:00Z") } });
    const c2 = candidate(C2, { deliveredTo: { testing: at("2026-11-26T11:00:00Z") } });
    const plans = plan({ ...base, states: { testing: { order: c2.order } }, candidates: [c1, c2] });
    expect(plans.map((p) => p.stream)).toEqual(["testing", "stable"]);
    const stable = plans[1];
    expect(stable?.deliver?.commit).toBe(C1);
    expect(stable?.held.map((h) => [h.candidate.commit, kinds(h.reasons)])).toEqual([[C2, ["soak"]]]);
  });

  it("a held stream holds every compose with the hold's reason", () => {
    const [testing] = plan({ ...base, holds: { testing: { by: "alice", reason: "r", at: at("2026-11-26T00:00:00Z") } }, candidates: [candidate(C1), candidate(C2)] });
    expect(testing?.deliver).toBeUndefined();
    expect(testing?.held.map((h) => kinds(h.reasons))).toEqual([["manual-hold"], ["manual-hold"]]);
  });
});

describe("reasonsKey", () => {
  it("is the same for the same reasons in any order and whatever their end", () => {
    const a: HoldReason[] = [{ kind: "freeze", detail: "x", until: at("2026-01-01T00:00:00Z") }, { kind: "gate", detail: "y" }];
    const b: HoldReason[] = [{ kind: "gate", detail: "y" }, { kind: "freeze", detail: "x" }];
    expect(reasonsKey(a)).toBe(reasonsKey(b));
    expect(reasonsKey(a)).not.toBe(reasonsKey([{ kind: "gate", detail: "y" }]));
  });
});
