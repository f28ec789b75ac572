// `npm run demo -- --json` end to end, the embedded default: every service in one process.
import { describe, expect, it } from "vitest";
import { checkComposes, checkDelivery, checkGating, runDemo } from "./demo.js";

describe("atomic-ci demo --json (embedded)", () => {
  it("composes, gates and delivers what passed, holding a broken build at the gate and a good one during a freeze", async () => {
    const { code, stdout, stderr, summary } = await runDemo([], 420_000);
    expect(summary.ok, `${summary.error ?? ""}\n${stdout.slice(-6000)}\n${stderr.slice(-3000)}`).toBe(true);
    expect(code).toBe(0);
    expect(summary.bus).toBe("memory");
    await checkComposes(summary);
    checkGating(summary);
    await checkDelivery(summary);
  }, 480_000);
});
