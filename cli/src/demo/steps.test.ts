import { describe, expect, it } from "vitest";
import { createProgress, type ProgressStream } from "../progress.js";
import { DEMO_STEPS, demoSteps } from "./steps.js";

describe("demoSteps", () => {
  it("prints every line unchanged and moves the progress on at the demo's numbered steps", () => {
    const printed: (string | undefined)[] = [];
    let progressText = "";
    const stream: ProgressStream = { isTTY: false, write: (t) => ((progressText += t), true) };
    const { say, step } = demoSteps((line) => printed.push(line), createProgress(DEMO_STEPS.length, { stream, json: true, ci: false }));
    step(0);
    say("Fixture world ...");
    say();
    say("  0. The pipeline's repository starts with the host as the definition says (an operator compose):");
    say("    change set cs-0 → new commit");
    say("  10. The freeze is lifted (definition commit 0123456789ab); no other step:");
    expect(printed).toEqual([
      "Fixture world ...",
      undefined,
      "  0. The pipeline's repository starts with the host as the definition says (an operator compose):",
      "    change set cs-0 → new commit",
      "  10. The freeze is lifted (definition commit 0123456789ab); no other step:",
    ]);
    expect(progressText).toBe("[1/14] fixture world\n[4/14] baseline compose\n[14/14] delivery\n");
  });
});
