import { describe, expect, it } from "vitest";
import { findCulprits, type Oracle, type Verdict } from "./core.js";

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
  it("finds a single culprit among 8 in at most ⌈log2 8⌉ + 2 composes, and accepts the rest", async () => {
    for (const culprit of names(8)) {
      const { report, verdict } = await run(names(8), [culprit]);
      expect(report.culprits).toEqual([{ kind: "alone", members: [culprit], rejected: [culprit], failing: [`test of ${culprit}`], failingSet: [culprit] }]);
      expect(report.accepted).toEqual(names(8).filter((m) => m !== culprit).sort());
      expect(verdict(report.accepted).pass).toBe(true);
      expect(report.composesTried).toBeLessThanOrEqual(3 + 2);
    }
    // The first member: three halvings find it alone, one compose checks the other seven.
    expect((await run(names(8), ["m1"])).report.composesTried).toBe(4);
    // The last: three halvings, it alone; nothing left to check, and the accepted seven were composed.
    const last = await run(names(8), ["m8"]);
    expect(last.report.composesTried).toBe(4);
    expect(last.report.acceptedComposed).toBe(true);
  });

  it("reports a pair that fails only together as a combination naming both, rejecting the later one", async () => {
    const { report, asked } = await run(["foo-cli", "libfoo", "ostree"], [], [["foo-cli", "libfoo"]]);
    expect(report.culprits).toEqual([
      { kind: "combination", members: ["foo-cli", "libfoo"], rejected: ["libfoo"], failing: ["test of foo-cli+libfoo"], failingSet: ["foo-cli", "libfoo"] },
    ]);
    expect(report.accepted).toEqual(["foo-cli", "ostree"]);
    expect(report.acceptedComposed).toBe(true);
    // {foo-cli, libfoo} fails, {foo-cli} passes, {libfoo} alone passes, {foo-cli, ostree} passes.
    expect(asked).toEqual([["foo-cli", "libfoo"], ["foo-cli"], ["libfoo"], ["foo-cli", "ostree"]]);
    expect(report.composesTried).toBe(4);
  });

  it("finds two independent culprits", async () => {
    const { report, verdict } = await run(names(8), ["m3", "m6"]);
    expect(report.culprits.map((c) => [c.kind, c.members])).toEqual([
      ["alone", ["m3"]],
      ["alone", ["m6"]],
    ]);
    expect(report.accepted).toEqual(["m1", "m2", "m4", "m5", "m7", "m8"]);
    expect(verdict(report.accepted).pass).toBe(true);
    expect(report.composesTried).toBeLessThanOrEqual(2 * (3 + 2));
  });

  it("never composes a set twice, and asks nothing when a single unit failed", async () => {
    const { report, asked } = await run(["only"], ["only"]);
    expect(report).toEqual({ culprits: [{ kind: "alone", members: ["only"], rejected: ["only"], failing: ["test of only"], failingSet: ["only"] }], accepted: [], acceptedComposed: false, composesTried: 0 });
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
          // Each culprit's failing set really fails; cost: at most (⌈log2 n⌉ + 2) per culprit, plus partner searches.
          for (const c of report.culprits) expect(w.verdict(c.failingSet).pass, label).toBe(false);
          const k = report.culprits.length;
          const log = Math.ceil(Math.log2(n));
          expect(report.composesTried, label).toBeLessThanOrEqual(k * (2 * log + 2));
          expect(new Set(w.asked.map((a) => a.join())).size, label).toBe(w.asked.length);
        }
      }
    }
    expect(configurations).toBe(57);
  });
});
