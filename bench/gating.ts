/**
 * `pnpm bench:gating`: compose+test cycles the gatekeeper's culprit search
 * (services/gatekeeper/src/culprits/core.ts) spends to settle a failing change set of N
 * changes with k culprits, against N for testing one change at a time. The oracle is
 * simulated (a set of members failing alone, or one pair failing only together). A cycle is
 * one round of compose+test: the composes the search asks for together run side by side (at
 * most 4 in a round), so the round's wall-clock time is one compose+test. Both are counted:
 * cycles (rounds) and composes (oracle calls, the machine time). The failing whole (the
 * compose gate's own cycle, which happened before any search) is not counted, as for
 * one-at-a-time testing. The search without speculation (one compose per round, the design
 * before) is run too, for comparison. Every placement of the culprits is tried (all positions
 * for k = 1, all pairs of positions for k = 2), and each report is checked: the right changes
 * rejected, the accepted ones passing together.
 * Target per row: k·⌈log2 N⌉ + 1 cycles on the worst placement (the average is shown too).
 *
 * `--burst`: the decision passes instead (issue 4, the gatekeeper's re-decisions). A compose
 * brings results for every host package at once: P packages (default 40, `--packages`), each
 * with a QUEUED build summary, T per-test results on the compose (`--tests`, default 2) going
 * QUEUED → RUNNING → PASSED, and its final build summary; then the compose summaries. The
 * gatekeeper core runs with the fixture world's policies (the package gate's !RemoteRule reads
 * each build's gating.yaml from a real dist-git repository with `git show`) twice: "before" as
 * it was (one pass per result, gating.yaml read on every decision), and "after" (results
 * coalesced in 200 ms windows, gating.yaml kept per commit). `--redis URL` runs "after" on the
 * Redis stores too. Also shown: the cache alone (one pass per result), and "after" with the
 * results arriving 10 ms apart (so the burst spans several windows). Printed: wall time, passes, subject decisions, git runs, updates published.
 *
 * Flags: --json (one JSON line with the rows instead of the table).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findCulprits, type Oracle, type Verdict } from "../services/gatekeeper/src/culprits/core.js";
import { DistGit, Gatekeeper, memoryStores, parsePolicyFiles, RedisStores, ResultView, type GatekeeperStores } from "../services/gatekeeper/src/index.js";
import { gitAdd, gitCommit, gitInit } from "../libs/tools/src/index.js";
import { gatingYaml } from "../test/fixture-world/src/distgit.js";
import { COMPOSE_TEST_CASES, hostDefinitionFiles } from "../test/fixture-world/src/hostdef.js";
import type { ResultsdbResult } from "@atomic-ci/messages";

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    burst: { type: "boolean", default: false },
    packages: { type: "string", default: "40" },
    tests: { type: "string", default: "2" },
    redis: { type: "string" },
  },
});

if (values.burst) {
  await burst();
  process.exit(0);
}

type Scenario = "alone" | "pair";

interface Row {
  n: number;
  k: number;
  scenario: Scenario;
  placements: number;
  average: number;
  worst: number;
  /** Composes (oracle calls): average and worst over the placements. */
  composesAverage: number;
  composesWorst: number;
  /** Without speculation: one compose per cycle (the earlier design). */
  sequentialWorst: number;
  /** Most composes asked in one round. */
  widest: number;
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

interface Settled {
  rounds: number;
  composes: number;
  widest: number;
}

/** Cycles and composes for one placement; throws if the report is wrong. */
async function settle(members: readonly string[], alone: readonly string[], pairs: readonly (readonly [string, string])[], speculate = true): Promise<Settled> {
  let calls = 0;
  // The oracle answers after a macrotask: the calls of one round are all made before any answer.
  let inRound = 0;
  let widest = 0;
  const oracle: Oracle = async (set) => {
    calls++;
    inRound++;
    widest = Math.max(widest, inRound);
    await new Promise((r) => setImmediate(r));
    inRound = 0;
    return verdictOf(alone, pairs, set);
  };
  const whole = verdictOf(alone, pairs, members);
  if (whole.pass) throw new Error("the whole must fail");
  const report = await findCulprits(
    members.map((m) => [m]),
    whole,
    oracle,
    { speculate },
  );
  // The later member of a pair is the one rejected; the partner stays.
  const expected = [...alone, ...pairs.map(([a, b]) => (members.indexOf(a) > members.indexOf(b) ? a : b))].sort();
  const rejected = report.culprits.flatMap((c) => c.rejected).sort();
  if (JSON.stringify(rejected) !== JSON.stringify(expected)) throw new Error(`wrong culprits: ${rejected.join(",")} instead of ${expected.join(",")}`);
  if (!verdictOf(alone, pairs, report.accepted).pass) throw new Error("accepted changes fail together");
  if (report.accepted.length + rejected.length !== members.length) throw new Error("a change was left unsettled");
  if (calls !== report.composesTried) throw new Error("composesTried disagrees with the oracle calls");
  if (widest > 4) throw new Error(`${widest} composes in one round`);
  return { rounds: report.rounds, composes: calls, widest };
}

async function row(n: number, k: number, scenario: Scenario): Promise<Row> {
  const members = names(n);
  const counts: Settled[] = [];
  const sequential: Settled[] = [];
  const placements: [string[], (readonly [string, string])[]][] = [];
  if (k === 1) {
    for (const m of members) placements.push([[m], []]);
  } else {
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const a = members[i] as string;
        const b = members[j] as string;
        placements.push(scenario === "alone" ? [[a, b], []] : [[], [[a, b]]]);
      }
  }
  for (const [alone, pairs] of placements) {
    counts.push(await settle(members, alone, pairs));
    sequential.push(await settle(members, alone, pairs, false));
  }
  const worst = Math.max(...counts.map((c) => c.rounds));
  const average = counts.reduce((s, c) => s + c.rounds, 0) / counts.length;
  const composesWorst = Math.max(...counts.map((c) => c.composes));
  const composesAverage = counts.reduce((s, c) => s + c.composes, 0) / counts.length;
  const target = k * Math.ceil(Math.log2(n)) + 1;
  return {
    n,
    k,
    scenario,
    placements: counts.length,
    average,
    worst,
    composesAverage,
    composesWorst,
    sequentialWorst: Math.max(...sequential.map((c) => c.rounds)),
    widest: Math.max(...counts.map((c) => c.widest)),
    oneAtATime: n,
    target,
    met: worst <= target,
  };
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
  const header = ["N", "k", "culprits", "placements", "avg cycles", "worst", "composes avg / worst", "widest round", "no speculation: worst", "one-at-a-time", "target k·⌈log2 N⌉+1", "verdict (worst ≤ target)"];
  const lines = rows.map((r) => [
    String(r.n),
    String(r.k),
    r.scenario === "alone" ? (r.k === 1 ? "one, alone" : "two, each alone") : "a pair failing only together",
    String(r.placements),
    r.average.toFixed(2),
    String(r.worst),
    `${r.composesAverage.toFixed(2)} / ${r.composesWorst}`,
    String(r.widest),
    String(r.sequentialWorst),
    String(r.oneAtATime),
    String(r.target),
    r.met ? "MET" : "NOT MET",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  process.stdout.write(`${fmt(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n${lines.map(fmt).join("\n")}\n`);
  process.stdout.write("cycles = rounds of subset composes+tests run side by side; composes = all subset composes; the failing whole (the gate's own cycle) is not counted\n");
}

interface BurstRow {
  mode: string;
  ms: number;
  passes: number;
  decided: number;
  gitRuns: number;
  updates: number;
  results: number;
}

/** The decision passes on a burst of results (see the header). */
async function burst(): Promise<void> {
  const packages = Number(values.packages);
  const tests = Number(values.tests);
  // A benchmark's entry point hands git its PATH.
  const tools = { env: process.env };
  const dir = await mkdtemp(join(tmpdir(), "atomic-ci-bench-gating-"));
  try {
    const author = { name: "Bench", email: "bench@example.invalid", date: new Date("2025-01-01T00:00:00Z") };
    const names = Array.from({ length: packages }, (_, i) => `pkg${String(i).padStart(3, "0")}`);
    const commits = new Map<string, string>();
    for (const name of names) {
      const repo = join(dir, "rpms", name);
      await mkdir(repo, { recursive: true });
      await gitInit(repo, { ...tools, branch: "f41" });
      await writeFile(join(repo, `${name}.spec`), `Name: ${name}\nVersion: 1.0\nRelease: 1%{?dist}\n`);
      await writeFile(join(repo, "gating.yaml"), gatingYaml(true));
      await gitAdd(repo, tools);
      commits.set(name, await gitCommit(repo, { ...tools, author, message: "1.0" }));
    }
    const definition = hostDefinitionFiles({ dir: "", repos: [], topPackages: [], lock: [], generated: "2025-01-01T00:00:00Z", date: author.date });
    const policies = parsePolicyFiles(new Map(Object.entries(definition).filter(([path]) => path.startsWith("policies/"))));

    const compose = "b".repeat(64);
    let id = 0;
    const at = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, 0, n)).toISOString();
    const make = (item: string, type: string, testcase: string, outcome: ResultsdbResult["outcome"], data: Record<string, string[]> = {}): ResultsdbResult => {
      id++;
      return { id, outcome, testcase: { name: testcase }, data: { item: [item], type: [type], ...data }, submit_time: at(id) };
    };
    const results: ResultsdbResult[] = [];
    for (const name of names) {
      const nvr = `${name}-1.0-1.fc41`;
      const data = { compose: [compose], dist_git_commit: [commits.get(name) as string] };
      results.push(make(nvr, "koji_build", "fedora-ci.koji-build.tier0.functional", "QUEUED", data));
      for (let t = 0; t < tests; t++) for (const outcome of ["QUEUED", "RUNNING", "PASSED"] as const) results.push(make(compose, "compose", `atomic-ci.${name}.t${t}.functional`, outcome));
      results.push(make(nvr, "koji_build", "fedora-ci.koji-build.tier0.functional", "PASSED", data));
    }
    for (const testcase of COMPOSE_TEST_CASES) results.push(make(compose, "compose", testcase, "PASSED"));

    const run = async (mode: string, stores: GatekeeperStores, batched: boolean, cache = batched, spreadMs = 0): Promise<BurstRow> => {
      let updates = 0;
      const distGit = new DistGit({ baseDir: dir, branch: "f41", tools, cache, commitHint: (nvr) => new ResultView(stores.results).commitOf(nvr) });
      const gatekeeper = new Gatekeeper({
        bus: { publish: () => (updates++, Promise.resolve()) } as never,
        settings: { productVersion: "fedora-41", contexts: { package: "bodhi_update_push_testing", compose: "atomic_ci_compose_gate" }, batchWindowMs: batched ? 200 : 0 },
        policies,
        remoteGatingYaml: (s) => distGit.gatingYaml(s),
        logger: { info: () => undefined, debug: () => undefined, warn: () => undefined },
        now: () => new Date("2025-01-01T00:00:00Z"),
        stores,
      });
      const start = performance.now();
      // before: each result decided before the next is taken (the handler awaited its re-decision);
      // after: the handler only stores and marks, the pass takes what arrived.
      for (const r of results) {
        if (batched) await gatekeeper.receive({ result: r });
        else await gatekeeper.onResult(r);
        if (spreadMs > 0) await new Promise((resolve) => setTimeout(resolve, spreadMs));
      }
      await gatekeeper.idle();
      const ms = performance.now() - start;
      await stores.close();
      return { mode, ms, passes: gatekeeper.stats.passes, decided: gatekeeper.stats.decided, gitRuns: distGit.gitShows, updates, results: results.length };
    };
    const rows: BurstRow[] = [];
    rows.push(await run("before: one pass per result, no gating.yaml cache (memory)", memoryStores(), false));
    rows.push(await run("gating.yaml per commit only: one pass per result (memory)", memoryStores(), false, true));
    rows.push(await run("after: 200 ms windows, gating.yaml per commit (memory)", memoryStores(), true));
    rows.push(await run("after, the results arriving 10 ms apart (memory)", memoryStores(), true, true, 10));
    if (values.redis) {
      const prefix = `atomic-ci:bench-gating:${Date.now().toString(36)}`;
      const stores = new RedisStores({ url: values.redis, prefix });
      await stores.connect();
      const cleaner = new RedisStores({ url: values.redis, prefix });
      await cleaner.connect();
      rows.push(await run("after: 200 ms windows, gating.yaml per commit (Redis)", stores, true));
      const keys = await cleaner.client.keys(`${prefix}:*`);
      if (keys.length > 0) await cleaner.client.del(...keys);
      await cleaner.close();
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ packages, tests, rows })}\n`);
      return;
    }
    process.stdout.write(`${packages} packages × (2 build summaries + ${tests} tests × 3 states) + ${COMPOSE_TEST_CASES.length} compose summaries = ${results.length} results\n`);
    process.stdout.write("| mode | wall time | passes | subject decisions | git runs | updates published |\n|---|---|---|---|---|---|\n");
    for (const r of rows) process.stdout.write(`| ${r.mode} | ${(r.ms / 1000).toFixed(2)} s | ${r.passes} | ${r.decided} | ${r.gitRuns} | ${r.updates} |\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
