/**
 * `pnpm bench:gating`: compose+test cycles the gatekeeper's culprit search
 * (services/gatekeeper/src/culprits/core.ts) spends to settle a failing change set of N
 * changes with k culprits, against N for testing one change at a time. The oracle is
 * simulated (a set of members failing alone, or one pair failing only together); what is
 * counted is the oracle calls, i.e. subset composes the search asks for. The failing whole
 * (the compose gate's own cycle, which happened before any search) is not counted, as for
 * one-at-a-time testing. Every placement of the culprits is tried (all positions for k = 1,
 * all pairs of positions for k = 2), and each report is checked: the right changes rejected,
 * the accepted ones passing together.
 * Target per row: k·⌈log2 N⌉ + 1 on the worst placement (the average is shown too).
 * Flags: --json (one JSON line with the rows instead of the table).
 */
import { parseArgs } from "node:util";
import { findCulprits, type Oracle, type Verdict } from "../services/gatekeeper/src/culprits/core.js";

const { values } = parseArgs({ options: { json: { type: "boolean", default: false } } });

type Scenario = "alone" | "pair";

interface Row {
  n: number;
  k: number;
  scenario: Scenario;
  placements: number;
  average: number;
  worst: number;
  oneAtATime: number;
  target: number;
  met: boolean;
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `c${String(i + 1).padStart(2, "0")}`);

function verdictOf(alone: readonly string[], pairs: readonly (readonly [string, string])[], members: readonly string[]): Verdict {
  const has = new Set(members);
  const failing = [...alone.filter((m) => has.has(m)).map((m) => `test of ${m}`), ...pairs.filter(([a, b]) => has.has(a) && has.has(b)).map(([a, b]) => `test of ${a}+${b}`)];
  return failing.length === 0 ? { pass: true } : { pass: false, failing };
}

/** Cycles for one placement; throws if the report is wrong. */
async function settle(members: readonly string[], alone: readonly string[], pairs: readonly (readonly [string, string])[]): Promise<number> {
  let calls = 0;
  const oracle: Oracle = (set) => {
    calls++;
    return Promise.resolve(verdictOf(alone, pairs, set));
  };
  const whole = verdictOf(alone, pairs, members);
  if (whole.pass) throw new Error("the whole must fail");
  const report = await findCulprits(
    members.map((m) => [m]),
    whole,
    oracle,
  );
  // The later member of a pair is the one rejected; the partner stays.
  const expected = [...alone, ...pairs.map(([a, b]) => (members.indexOf(a) > members.indexOf(b) ? a : b))].sort();
  const rejected = report.culprits.flatMap((c) => c.rejected).sort();
  if (JSON.stringify(rejected) !== JSON.stringify(expected)) throw new Error(`wrong culprits: ${rejected.join(",")} instead of ${expected.join(",")}`);
  if (!verdictOf(alone, pairs, report.accepted).pass) throw new Error("accepted changes fail together");
  if (report.accepted.length + rejected.length !== members.length) throw new Error("a change was left unsettled");
  if (calls !== report.composesTried) throw new Error("composesTried disagrees with the oracle calls");
  return calls;
}

async function row(n: number, k: number, scenario: Scenario): Promise<Row> {
  const members = names(n);
  const counts: number[] = [];
  if (k === 1) {
    for (const m of members) counts.push(await settle(members, [m], []));
  } else {
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const a = members[i] as string;
        const b = members[j] as string;
        counts.push(scenario === "alone" ? await settle(members, [a, b], []) : await settle(members, [], [[a, b]]));
      }
  }
  const worst = Math.max(...counts);
  const average = counts.reduce((s, c) => s + c, 0) / counts.length;
  const target = k * Math.ceil(Math.log2(n)) + 1;
  return { n, k, scenario, placements: counts.length, average, worst, oneAtATime: n, target, met: worst <= target };
}

const rows: Row[] = [];
for (const n of [8, 16, 32]) {
  rows.push(await row(n, 1, "alone"));
  rows.push(await row(n, 2, "alone"));
  rows.push(await row(n, 2, "pair"));
}

if (values.json) {
  process.stdout.write(`${JSON.stringify({ rows })}\n`);
} else {
  const header = ["N", "k", "culprits", "placements", "avg cycles", "worst", "one-at-a-time", "target k·⌈log2 N⌉+1", "verdict (worst ≤ target)"];
  const lines = rows.map((r) => [
    String(r.n),
    String(r.k),
    r.scenario === "alone" ? (r.k === 1 ? "one, alone" : "two, each alone") : "a pair failing only together",
    String(r.placements),
    r.average.toFixed(2),
    String(r.worst),
    String(r.oneAtATime),
    String(r.target),
    r.met ? "MET" : "NOT MET",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  process.stdout.write(`${fmt(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n${lines.map(fmt).join("\n")}\n`);
  process.stdout.write("cycles = subset composes+tests asked by the culprit search; the failing whole (the gate's own cycle) is not counted\n");
}
