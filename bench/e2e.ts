/**
 * `pnpm bench:e2e`: the whole pipeline (the demo, embedded mode: compose → tests → gates → image
 * → boot → delivery) against the external tools it ran in the same run (ostree, dnf, rpm, git,
 * mkfs, qemu-img, qemu, gpg, the tests in their bwrap sandbox, ...). Every tool run is timed by
 * @atomic-ci/tools' opt-in hook (runTool, plus the runs spawned elsewhere that report to it: the
 * qemu boot, rpm2cpio|cpio). Overlapping runs count once: the tools' time is the union of their
 * intervals. The overhead ratio is the pipeline's wall time over that union; what is above 1 is
 * time in which no tool ran (our code, the bus, waiting for the next step). Target ≤ 1.15.
 * The wall time is the demo's, from its start to its summary (the fixture world comes from its
 * cache: the first run after a change to the world builds it, and that is counted; run twice).
 * Flags: --json (one JSON line instead of the table), --keep-output (print the demo's lines),
 * --gaps N (also list the N longest stretches in which no tool ran, with the tools around them),
 * --detail TOOL (the runs of TOOL grouped by subcommand, e.g. --detail git).
 */
import { parseArgs } from "node:util";
import { demoCommand } from "../cli/src/commands/demo.js";
import { ToolTimings, type ToolRun } from "../libs/tools/src/index.js";

const { values } = parseArgs({ options: { json: { type: "boolean", default: false }, "keep-output": { type: "boolean", default: false }, gaps: { type: "string", default: "0" }, detail: { type: "string" } } });
const TARGET = 1.15;

/** Tools by what they do for the pipeline; the tests run in bwrap, the boot is qemu-system-*. */
function classify(run: ToolRun): string {
  const name = run.tool.slice(run.tool.lastIndexOf("/") + 1);
  if (name === "bwrap") return "tests (bwrap)";
  if (name.startsWith("qemu-system")) return "boot (qemu)";
  return name;
}

const lines: string[] = [];
const timings = new ToolTimings(classify).start();
const started = performance.now();
const code = await demoCommand({
  env: process.env,
  say: (line = "") => {
    lines.push(line);
    if (values["keep-output"]) process.stdout.write(`${line}\n`);
  },
});
const wallMs = performance.now() - started;
timings.stop();
if (code !== 0) {
  process.stderr.write(`${lines.slice(-30).join("\n")}\nthe demo failed (exit ${code}): no benchmark\n`);
  process.exit(1);
}

const totals = timings.totals();
const unionMs = timings.unionMs();
const sumMs = totals.reduce((t, r) => t + r.sumMs, 0);
const ratio = wallMs / unionMs;
const s = (ms: number) => (ms / 1000).toFixed(1);

if (values.json) {
  process.stdout.write(
    `${JSON.stringify({
      wall_s: Number(s(wallMs)),
      tools_union_s: Number(s(unionMs)),
      tools_sum_s: Number(s(sumMs)),
      ratio: Number(ratio.toFixed(3)),
      target: TARGET,
      met: ratio <= TARGET,
      tools: totals.map((t) => ({ tool: t.tool, runs: t.runs, sum_s: Number(s(t.sumMs)), union_s: Number(s(t.unionMs)) })),
    })}\n`,
  );
} else {
  const width = Math.max(14, ...totals.map((t) => t.tool.length));
  const row = (cells: string[]) => `${cells[0]?.padEnd(width)}  ${cells.slice(1).map((c) => c.padStart(9)).join("  ")}`;
  process.stdout.write(`${row(["tool", "runs", "sum s", "union s", "% wall"])}\n`);
  for (const t of totals) process.stdout.write(`${row([t.tool, String(t.runs), s(t.sumMs), s(t.unionMs), ((100 * t.unionMs) / wallMs).toFixed(1)])}\n`);
  process.stdout.write(`${row(["all tools", String(timings.runs.length), s(sumMs), s(unionMs), ((100 * unionMs) / wallMs).toFixed(1)])}\n\n`);
  process.stdout.write(`pipeline wall ${s(wallMs)} s; tools ran (union) ${s(unionMs)} s; summed ${s(sumMs)} s\n`);
  process.stdout.write(`overhead ratio (wall / tools' union) ${ratio.toFixed(3)}: target ≤ ${TARGET} ${ratio <= TARGET ? "MET" : "NOT MET"}\n`);
}
if (values.detail) {
  // `git -C DIR show ...` → `show`; `ostree commit --repo=...` → `commit`: the first argument that is not an option or its value.
  const sub = (r: ToolRun) => r.args.find((a, i) => !a.startsWith("-") && r.args[i - 1] !== "-C") ?? "";
  const groups = new Map<string, { runs: number; ms: number }>();
  for (const r of timings.runs.filter((r) => classify(r) === values.detail)) {
    const g = groups.get(sub(r)) ?? { runs: 0, ms: 0 };
    g.runs++;
    g.ms += r.endMs - r.startMs;
    groups.set(sub(r), g);
  }
  process.stdout.write(`\n${values.detail} by subcommand (runs, summed s):\n`);
  for (const [name, g] of [...groups.entries()].toSorted((a, b) => b[1].ms - a[1].ms)) process.stdout.write(`  ${name.padEnd(20)} ${String(g.runs).padStart(6)} ${s(g.ms).padStart(8)}\n`);
}
const gaps = Number(values.gaps);
if (gaps > 0) {
  // Walk the runs by start time, keeping the furthest end: a gap is where the next start is past it.
  const sorted = timings.runs.toSorted((a, b) => a.startMs - b.startMs);
  const found: { at: number; ms: number; before: string; after: string }[] = [];
  let end = started;
  let last = "(start)";
  for (const r of sorted) {
    if (r.startMs > end) found.push({ at: end - started, ms: r.startMs - end, before: last, after: `${classify(r)} ${r.args.slice(0, 2).join(" ")}` });
    if (r.endMs > end) {
      end = r.endMs;
      last = `${classify(r)} ${r.args.slice(0, 2).join(" ")}`;
    }
  }
  found.push({ at: end - started, ms: started + wallMs - end, before: last, after: "(end)" });
  process.stdout.write(`\nlongest stretches without a tool (at s, length s, after → before):\n`);
  for (const g of found.toSorted((a, b) => b.ms - a.ms).slice(0, gaps)) process.stdout.write(`  ${s(g.at).padStart(6)}  ${s(g.ms).padStart(5)}  ${g.before.slice(0, 50)} → ${g.after.slice(0, 50)}\n`);
}
process.exit(0);
