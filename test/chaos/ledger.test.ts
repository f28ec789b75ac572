// The chaos suite's own rules, without services: what counts as a change set's final state,
// how a trigger is traced to its change set, and the trigger plan for a seed.
import { describe, expect, it } from "vitest";
import { Ledger, newer, planTriggers, rng } from "./chaos.js";
import type { Seen } from "./watch.js";

const seen = (topic: string, body: Record<string, unknown>): Seen => ({ topic, id: undefined, body, headers: {}, at: 0 });
const queued = (cs: string, source: string) => seen("pipeline.change-set.queued", { change_set_id: cs, members: [{ kind: "build", source_message_id: source }] });
const complete = (cs: string, commit: string, version: string) => seen("pipeline.compose.complete", { change_set_id: cs, commit, os_version: version });
const decision = (commit: string, context: string, satisfied: boolean, missing = false) =>
  seen("greenwave.decision.update", {
    subject_identifier: commit,
    decision_context: context,
    policies_satisfied: satisfied,
    unsatisfied_requirements: satisfied ? [] : [{ type: missing ? "test-result-missing" : "test-result-failed" }],
  });
const delivered = (commit: string, version: string) => seen("pipeline.release.delivered", { stream: "testing", commit, os_version: version, already_promoted: false });

describe("chaos ledger", () => {
  it("traces triggers to change sets or ignores", () => {
    const ledger = new Ledger([queued("cs-1", "t1"), queued("cs-1", "t1"), seen("pipeline.change-set.ignored", { source_message_id: "t2", reason_code: "duplicate" })]);
    expect(ledger.changeSetsOf("t1")).toEqual(["cs-1"]);
    expect(ledger.ignoredOf("t2")?.body["reason_code"]).toBe("duplicate");
    expect(ledger.changeSetsOf("t3")).toEqual([]);
  });

  it("calls a change set final only at an end of the pipeline", () => {
    const log: Seen[] = [queued("cs-a", "a"), queued("cs-b", "b"), queued("cs-c", "c"), queued("cs-d", "d")];
    const ledger = new Ledger(log);
    expect(ledger.finalState("cs-a", true)).toBeUndefined();
    log.push(seen("pipeline.compose.error", { change_set_id: "cs-a" }));
    expect(ledger.finalState("cs-a", true)).toBe("compose-error");

    log.push(complete("cs-b", "b1", "41.1.0"), decision("b1", "atomic_ci_compose_gate", false, true));
    expect(ledger.finalState("cs-b", true)).toBeUndefined(); // tests still running
    log.push(decision("b1", "atomic_ci_compose_gate", false));
    expect(ledger.finalState("cs-b", true)).toBe("rejected-compose-gate");

    log.push(complete("cs-c", "c1", "41.1.1"), decision("c1", "atomic_ci_compose_gate", true));
    expect(ledger.finalState("cs-c", true)).toBeUndefined(); // waits for its image gate and the publisher
    expect(ledger.finalState("cs-c", false)).toBeUndefined(); // waits for the publisher
    log.push(decision("c1", "atomic_ci_image_gate", false));
    expect(ledger.finalState("cs-c", true)).toBe("rejected-image-gate");

    log.push(complete("cs-d", "d1", "41.1.2"), decision("d1", "atomic_ci_compose_gate", true), delivered("d1", "41.1.2"));
    expect(ledger.finalState("cs-d", true)).toBe("delivered");
    // An older gated compose than a release is never delivered.
    expect(ledger.finalState("cs-c", false)).toBe("superseded");
  });

  it("orders versions by their numeric parts", () => {
    expect(newer("41.20261126.dev.10", "41.20261126.dev.9")).toBe(true);
    expect(newer("41.20261126.0", "41.20261126.0")).toBe(false);
    expect(newer("41.20261125.3", "41.20261126.0")).toBe(false);
  });

  it("plans every candidate once, then re-sends, composes and re-runs; the same seed the same plan", () => {
    const builds = ["ostree-2024.9-1.fc41", "rpm-ostree-2024.9-1.fc41", "podman-5.3.0-1.fc41", "libfoo-2.0-1.fc41"].map((nvr) => ({ nvr, repo: "candidates" }));
    const world = { builds: [...builds, { nvr: "bash-5.2.32-1.fc41", repo: "stable" }] } as unknown as Parameters<typeof planTriggers>[0];
    const plan = planTriggers(world, 10, rng(3));
    expect(plan).toHaveLength(10);
    expect(plan.filter((t) => t.kind === "koji").map((t) => t.build).sort()).toEqual(builds.map((b) => b.nvr).sort());
    expect(new Set(plan.slice(4).map((t) => t.kind))).toEqual(new Set(["compose", "rerun", "koji-resend"]));
    expect(planTriggers(world, 10, rng(3)).map((t) => [t.kind, t.build])).toEqual(plan.map((t) => [t.kind, t.build]));
    // Fewer runs than candidates: a good and a broken build always, never rpm-ostree without its ostree.
    const small = planTriggers(world, 3, rng(5)).map((t) => t.build);
    expect(small).toContain("ostree-2024.9-1.fc41");
    expect(small).toContain("podman-5.3.0-1.fc41");
    expect(small).not.toContain("rpm-ostree-2024.9-1.fc41");
  });
});
