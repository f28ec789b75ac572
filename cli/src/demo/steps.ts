import type { Progress } from "../progress.js";

/**
 * The demo's long steps, for its progress: three before the pipeline, then one per numbered
 * step the demo shows (`  0. …` to `  10. …`, docs/demo.md).
 */
export const DEMO_STEPS = [
  "fixture world",
  "starting services",
  "bad messages",
  "baseline compose",
  "candidate build composed",
  "pin composed",
  "no-op recompose",
  "gating: broken build",
  "gating: broken combination",
  "gating: waiver",
  "held at the gate",
  "freeze",
  "good build: compose, tests, image, boot, image gate",
  "delivery",
] as const;

const NUMBERED_FROM = 3;
const NUMBERED_STEP = /^ {2}(\d+)\. /;

/**
 * The demo's `say` with progress: every line is printed as before (with the bar out of the
 * way), and a numbered step's line moves the progress to that step, so the parts that print
 * the numbers need not know about the progress. `step(i)` moves it to DEMO_STEPS[i].
 */
export function demoSteps(print: (line?: string) => void, progress: Progress): { say: (line?: string) => void; step: (index: number) => void } {
  const step = (index: number) => progress.step(index + 1, DEMO_STEPS[index] ?? "?");
  const say = (line?: string) => {
    progress.around(() => print(line));
    const numbered = line === undefined ? null : NUMBERED_STEP.exec(line);
    if (numbered) step(NUMBERED_FROM + Number(numbered[1]));
  };
  return { say, step };
}
