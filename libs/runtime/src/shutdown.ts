import type { Logger } from "@atomic-ci/telemetry";

export interface ShutdownStep {
  name: string;
  run(): Promise<void> | void;
}

export interface ShutdownReport {
  /** Steps that finished, in order. */
  completed: string[];
  /** Steps that threw (shutdown goes on with the next one). */
  failed: string[];
  /** The deadline passed before every step finished. */
  timedOut: boolean;
}

/**
 * Run the steps one after the other, each even when an earlier one failed (a broken
 * transport must not keep Redis or the HTTP port open), all within `timeoutMs`. On timeout
 * the report comes back at once; the step that hangs is left behind.
 */
export async function runShutdownSteps(steps: readonly ShutdownStep[], timeoutMs: number, logger: Logger): Promise<ShutdownReport> {
  const report: ShutdownReport = { completed: [], failed: [], timedOut: false };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
    // The deadline alone must not keep a process alive that has nothing else left to do.
    timer.unref();
  });
  const sequence = (async () => {
    for (const step of steps) {
      if (report.timedOut) return;
      try {
        await step.run();
        report.completed.push(step.name);
        logger.debug({ step: step.name }, "shutdown step done");
      } catch (err) {
        report.failed.push(step.name);
        logger.error({ err, step: step.name }, "shutdown step failed");
      }
    }
  })();
  const first = await Promise.race([sequence.then(() => "done" as const), deadline]);
  clearTimeout(timer);
  if (first === "timeout") {
    report.timedOut = true;
    logger.error({ timeout_ms: timeoutMs, completed: report.completed }, "shutdown timed out");
  }
  return { ...report, completed: [...report.completed], failed: [...report.failed] };
}
