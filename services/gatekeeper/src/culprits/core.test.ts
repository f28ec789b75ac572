import { describe, expect, it } from "vitest";
import { findCulprits, memberSetKey, type Oracle, type Verdict } from "./core.js";

/** A fake world: members failing alone, and pairs failing only together. Failure is monotone. */
function world(alone: readonly string[], pairs: readonly (readonly [string, string])[] = []) {
  const asked: string[][] = [];
  const verdict = (members: readonly string[]): Verdict => {
    const failing = [...alone.filter((m) => members.includes(m)).map((m) => `test of ${m}`), ...pairs.filter(([a, b]) => members.includes(a) && members.includes(b)).map(([a, b]) => `test of ${a}+${b}`)];
    return failing.length === 0 ? { pass: true } : { pass: false, failing };
  };
  const oracle: Oracle = (members) => {
    asked.push([...members]);
    return Promise.resolve(verdict(members));
  };
  return { oracle, asked, verdict };
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `m${i + 1}`);

async function run(members: readonly string[], alone: readonly string[], pairs: readonly (readonly [string, string])[] = []) {
  const w = world(alone, pairs);
  const whole = w.verdict(members);
  if (whole.pass) throw new Error("the whole must fail");
  const report = await findCulprits(members.map((m) => [m]), whole, w.oracle);
  return { report, asked: w.asked, verdict: w.verdict };
}

describe("findCulprits with a fake oracle", () => {
  it("finds a single culprit among 8 in ⌈log2 8⌉ + 1 cycles, and accepts the rest", async () => {
    for (const culprit of names(8)) {
      const { report, verdict } = await run(names(8), [culprit]);
      expect(report.culprits).toEqual([{ kind: "alone", members: [culprit], rejected: [culprit], failing: [`test of ${culprit}`], failingSet: [culprit] }]);
      expect(report.accepted).toEqual(names(8).filter((m) => m !== culprit).sort());
      expect(verdict(report.accepted).pass).toBe(true);
      expect(report.rounds).toBeLessThanOrEqual(3 + 1);
    }
    // The first member: three halvings find it alone (it is first: failing alone is known), then
    // one round checks the other seven (and speculatively halves them).
    const first = await run(names(8), ["m1"]);
    expect(first.report.rounds).toBe(4);
    expect(first.asked.slice(3)).toEqual([names(8).slice(1), names(8).slice(1, 5)]);
    // The last: three halvings, then it alone, with the partner search's first probe; the accepted seven were composed.
    const last = await run(names(8), ["m8"]);
    expect(last.report.rounds).toBe(4);
    expect(last.report.acceptedComposed).toBe(true);
  });

  it("asks everything one step may need in one round, at most 4 composes", async () => {
    const { report, asked } = await run(names(8), ["m3"]);
    // Halvings: m1–m4 fails, m1–m2 passes, m1–m3 fails; then one round of four.
    expect(asked.slice(0, 3)).toEqual([names(4), names(2), names(3)]);
    expect(asked.slice(3)).toEqual([["m3"], ["m1", "m2", "m4", "m5", "m6", "m7", "m8"], ["m1", "m2", "m4", "m5", "m6"], ["m1", "m3"]]);
    expect(report).toMatchObject({ rounds: 4, composesTried: 7 });
    // Without speculation: one compose per round, the design before.
    const w = world(["m3"]);
    const sequential = await findCulprits(names(8).map((m) => [m]), w.verdict(names(8)) as Extract<Verdict, { pass: false }>, w.oracle, { speculate: false });
    expect(sequential).toMatchObject({ rounds: 5, composesTried: 5, accepted: report.accepted });
  });

  it("resumes from known answers without asking them again", async () => {
    const w = world(["m6"]);
    const answers: Record<string, Verdict> = {};
    const whole = w.verdict(names(8)) as Extract<Verdict, { pass: false }>;
    const full = await findCulprits(names(8).map((m) => [m]), whole, w.oracle, { onAnswer: (k, v) => void (answers[k] = v) });
    // A restart after the first two answers: only the rest is asked.
    const firstTwo = Object.fromEntries(Object.entries(answers).slice(0, 2));
    const again = world(["m6"]);
    const resumed = await findCulprits(names(8).map((m) => [m]), whole, again.oracle, { known: firstTwo });
    expect(resumed.culprits).toEqual(full.culprits);
    expect(resumed.accepted).toEqual(full.accepted);
    expect(again.asked.map((a) => memberSetKey(a))).toEqual(Object.keys(answers).slice(2));
  });

  it("reports a pair that fails only together as a combination naming both, rejecting the later one", async () => {
    const { report, asked } = await run(["foo-cli", "libfoo", "ostree"], [], [["foo-cli", "libfoo"]]);
    expect(report.culprits).toEqual([
      { kind: "combination", members: ["foo-cli", "libfoo"], rejected: ["libfoo"], failing: ["test of foo-cli+libfoo"], failingSet: ["foo-cli", "libfoo"] },
    ]);
    expect(report.accepted).toEqual(["foo-cli", "ostree"]);
    expect(report.acceptedComposed).toBe(true);
    // {foo-cli, libfoo} fails, {foo-cli} passes, then in one round: {libfoo} alone passes, {foo-cli, ostree} passes.
    expect(asked).toEqual([["foo-cli", "libfoo"], ["foo-cli"], ["libfoo"], ["foo-cli", "ostree"]]);
    expect(report).toMatchObject({ composesTried: 4, rounds: 3 });
  });

  it("finds two independent culprits", async () => {
    const { report, verdict } = await run(names(8), ["m3", "m6"]);
    expect(report.culprits.map((c) => [c.kind, c.members])).toEqual([
      ["alone", ["m3"]],
      ["alone", ["m6"]],
    ]);
    expect(report.accepted).toEqual(["m1", "m2", "m4", "m5", "m7", "m8"]);
    expect(verdict(report.accepted).pass).toBe(true);
    expect(report.rounds).toBeLessThanOrEqual(2 * 3 + 1);
  });

  it("never composes a set twice, and asks nothing when a single unit failed", async () => {
    const { report, asked } = await run(["only"], ["only"]);
    expect(report).toEqual({ culprits: [{ kind: "alone", members: ["only"], rejected: ["only"], failing: ["test of only"], failingSet: ["only"] }], accepted: [], acceptedComposed: false, composesTried: 0, rounds: 0 });
    expect(asked).toEqual([]);
    const many = await run(names(8), ["m2", "m5"], [["m1", "m7"]]);
    expect(new Set(many.asked.map((a) => a.join())).size).toBe(many.asked.length);
  });

  it("moves a unit of several members as one", async () => {
    const w = world(["b2"]);
    const units = [["a1"], ["b1", "b2"], ["c1"]];
    const report = await findCulprits(units, { pass: false, failing: ["x"] }, w.oracle);
    expect(report.culprits).toEqual([{ kind: "alone", members: ["b1", "b2"], rejected: ["b1", "b2"], failing: ["test of b2"], failingSet: ["b1", "b2"] }]);
    expect(report.accepted).toEqual(["a1", "c1"]);
    for (const set of w.asked) expect(set.includes("b1")).toBe(set.includes("b2"));
  });

  it("never splits units, names every member of a culprit unit, and reports a combination of units", async () => {
    // Units: a Bodhi update {u1, u2}, a Depends-On pair {d1, d2}, and single builds. d2 breaks
    // only together with u1: the combination names both units, rejects the later one whole.
    const units = [["s1"], ["u1", "u2"], ["s2"], ["d1", "d2"], ["s3"], ["s4"]];
    const all = units.flat();
    const w = world([], [["u1", "d2"]]);
    const report = await findCulprits(units, w.verdict(all) as Extract<Verdict, { pass: false }>, w.oracle);
    expect(report.culprits).toEqual([
      { kind: "combination", members: ["u1", "u2", "d1", "d2"], rejected: ["d1", "d2"], failing: ["test of u1+d2"], failingSet: ["d1", "d2", "s1", "u1", "u2"] },
    ]);
    expect(report.accepted).toEqual(["s1", "s2", "s3", "s4", "u1", "u2"]);
    for (const set of w.asked) {
      for (const unit of units) expect(unit.every((m) => set.includes(m)) || unit.every((m) => !set.includes(m)), `${set.join()} splits ${unit.join()}`).toBe(true);
    }
    // A unit failing alone is rejected whole, with its members named.
    const alone = world(["u2"]);
    const second = await findCulprits(units, alone.verdict(all) as Extract<Verdict, { pass: false }>, alone.oracle);
    expect(second.culprits.map((c) => [c.kind, c.members, c.rejected])).toEqual([["alone", ["u1", "u2"], ["u1", "u2"]]]);
  });

  it("settles every fault configuration of 1–4 members (alone culprits and at most one pair)", async () => {
    let configurations = 0;
    for (let n = 1; n <= 4; n++) {
      const members = names(n);
      const pairsOf: (readonly [string, string])[] = [];
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairsOf.push([members[i] as string, members[j] as string]);
      for (let mask = 0; mask < 1 << n; mask++) {
        const alone = members.filter((_, i) => mask & (1 << i));
        for (const pair of [undefined, ...pairsOf.filter(([a, b]) => !alone.includes(a) && !alone.includes(b))]) {
          const pairs = pair ? [pair] : [];
          const w = world(alone, pairs);
          const whole = w.verdict(members);
          if (whole.pass) continue;
          configurations++;
          const report = await findCulprits(members.map((m) => [m]), whole, w.oracle);
          const label = `n=${n} alone=${alone.join()} pair=${pair?.join("+") ?? "-"}`;
          const rejected = report.culprits.flatMap((c) => c.rejected);
          // Every member accepted or rejected, once.
          expect([...report.accepted, ...rejected].sort(), label).toEqual(members);
          // The accepted pass together; each alone culprit is rejected as such; nobody else is called alone.
          expect(w.verdict(report.accepted).pass, label).toBe(true);
          expect(report.culprits.filter((c) => c.kind === "alone").flatMap((c) => c.members).sort(), label).toEqual(alone);
          // The pair is one combination naming both, one of them rejected.
          const combos = report.culprits.filter((c) => c.kind === "combination");
          if (pair) {
            expect(combos.map((c) => [...c.members].sort()), label).toEqual([[...pair].sort()]);
            expect(combos[0]?.rejected, label).toEqual([pair[1]]);
          } else {
            expect(combos, label).toEqual([]);
          }
          // Each culprit's failing set really fails; cost: at most (2·⌈log2 n⌉ + 2) rounds per culprit (partner search included).
          for (const c of report.culprits) expect(w.verdict(c.failingSet).pass, label).toBe(false);
          const k = report.culprits.length;
          const log = Math.ceil(Math.log2(n));
          expect(report.rounds, label).toBeLessThanOrEqual(k * (2 * log + 2));
          expect(new Set(w.asked.map((a) => a.join())).size, label).toBe(w.asked.length);
        }
      }
    }
    expect(configurations).toBe(57);
  });
});
