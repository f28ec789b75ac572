// Opt-in timing of external tools: the end-to-end benchmark compares the pipeline's wall time
// with the time its tools ran. A process-wide registry rather than an AsyncLocalStorage scope:
// the services run tools from message handlers whose async context is the broker's, not the
// caller's, so only a process-wide listener sees every run. Nothing is recorded (and nothing
// costs) while no listener is registered.

/** One finished run of an external tool. Times are milliseconds on `performance.now()`'s clock. */
export interface ToolRun {
  /** The command as spawned (`ostree`, `/usr/bin/qemu-system-x86_64`, ...). */
  tool: string;
  args: readonly string[];
  startMs: number;
  endMs: number;
  /** Exit code; null when it was killed, timed out or could not be started. */
  exitCode: number | null;
}

export type ToolRunListener = (run: ToolRun) => void;

const listeners = new Set<ToolRunListener>();

/** Call `listener` after every tool run in this process; returns the function that removes it. */
export function onToolFinished(listener: ToolRunListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** True when someone listens: callers skip taking times otherwise. */
export function toolTimingEnabled(): boolean {
  return listeners.size > 0;
}

/**
 * Report a run to the listeners. `runTool` does it for every tool it runs; code that spawns a
 * long-lived tool itself (qemu with an interactive console, a pipe of two tools) reports here.
 * A listener that throws is ignored: timing must never break the run it observes.
 */
export function reportToolRun(run: ToolRun): void {
  for (const listener of listeners) {
    try {
      listener(run);
    } catch {
      // see above
    }
  }
}

/** The total length of the union of `[start, end]` intervals: overlapping runs count once. */
export function unionMs(intervals: readonly (readonly [number, number])[]): number {
  const sorted = intervals.filter(([s, e]) => e > s).toSorted((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  for (const [s, e] of sorted) {
    if (Number.isNaN(curStart) || s > curEnd) {
      if (!Number.isNaN(curStart)) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) {
      curEnd = e;
    }
  }
  if (!Number.isNaN(curStart)) total += curEnd - curStart;
  return total;
}

/** Per tool: how often it ran, the summed run time, and the wall time it was running at all (union). */
export interface ToolTotals {
  tool: string;
  runs: number;
  sumMs: number;
  unionMs: number;
}

/** `/usr/bin/ostree` → `ostree`. */
const toolName = (cmd: string) => cmd.slice(cmd.lastIndexOf("/") + 1);

/**
 * Collects the tool runs of this process from `start()` until `stop()`; `totals()` groups them
 * by tool (or by `classify`, e.g. to name `bwrap` runs "tests"), `unionMs()` is the wall time
 * during which any tool ran.
 */
export class ToolTimings {
  readonly runs: ToolRun[] = [];
  private off: (() => void) | undefined;

  constructor(private readonly classify: (run: ToolRun) => string = (run) => toolName(run.tool)) {}

  start(): this {
    this.off ??= onToolFinished((run) => this.runs.push(run));
    return this;
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }

  totals(): ToolTotals[] {
    const groups = new Map<string, ToolRun[]>();
    for (const run of this.runs) {
      const name = this.classify(run);
      groups.set(name, [...(groups.get(name) ?? []), run]);
    }
    return [...groups.entries()]
      .map(([tool, runs]) => ({ tool, runs: runs.length, sumMs: runs.reduce((t, r) => t + (r.endMs - r.startMs), 0), unionMs: unionMs(runs.map((r) => [r.startMs, r.endMs] as const)) }))
      .toSorted((a, b) => b.unionMs - a.unionMs);
  }

  unionMs(): number {
    return unionMs(this.runs.map((r) => [r.startMs, r.endMs] as const));
  }
}
