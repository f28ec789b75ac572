import { describe, expect, it } from "vitest";
import { runTool } from "./run.js";
import { onToolFinished, toolTimingEnabled, ToolTimings, unionMs, type ToolRun } from "./timing.js";

const env = { PATH: process.env["PATH"] };

describe("unionMs", () => {
  it("counts overlapping intervals once and disjoint ones separately", () => {
    expect(unionMs([])).toBe(0);
    expect(unionMs([[0, 10]])).toBe(10);
    expect(
      unionMs([
        [0, 10],
        [5, 15],
        [20, 30],
      ]),
    ).toBe(25);
    // Nested, unsorted, touching, and empty intervals.
    expect(
      unionMs([
        [20, 30],
        [0, 100],
        [40, 50],
        [100, 110],
        [200, 200],
      ]),
    ).toBe(110);
  });
});

describe("tool timing", () => {
  it("reports nothing and costs nothing without a listener", () => {
    expect(toolTimingEnabled()).toBe(false);
  });

  it("reports every runTool run, failed ones included, to the listeners while registered", async () => {
    const seen: ToolRun[] = [];
    const off = onToolFinished((run) => seen.push(run));
    await runTool("sleep", ["0.2"], { env, timeoutMs: 5_000 });
    await expect(runTool("false", [], { env, timeoutMs: 5_000 })).rejects.toThrow();
    await expect(runTool("no-such-tool-atomic-ci", [], { env, timeoutMs: 5_000 })).rejects.toThrow();
    off();
    await runTool("true", [], { env, timeoutMs: 5_000 });
    expect(seen.map((r) => [r.tool, r.exitCode])).toEqual([
      ["sleep", 0],
      ["false", 1],
      ["no-such-tool-atomic-ci", null],
    ]);
    const sleep = seen[0];
    expect(sleep && sleep.endMs - sleep.startMs).toBeGreaterThanOrEqual(190);
  });

  it("ToolTimings sums per tool and takes the union of concurrent runs", async () => {
    const timings = new ToolTimings().start();
    const started = performance.now();
    await Promise.all([runTool("sleep", ["0.3"], { env, timeoutMs: 5_000 }), runTool("sleep", ["0.3"], { env, timeoutMs: 5_000 })]);
    const wall = performance.now() - started;
    timings.stop();
    const [sleep] = timings.totals();
    expect(sleep?.tool).toBe("sleep");
    expect(sleep?.runs).toBe(2);
    expect(sleep?.sumMs).toBeGreaterThanOrEqual(590);
    // Two concurrent runs: the union is about one run, never more than the wall time around them.
    expect(timings.unionMs()).toBeGreaterThanOrEqual(290);
    expect(timings.unionMs()).toBeLessThanOrEqual(wall + 1);
    expect(toolTimingEnabled()).toBe(false);
  });
});
