import type { GreenwaveRequirement } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import { buildMember, changeSetQueued, COMMIT, composeComplete, composeError, composeQueued, decision, delivered, failedRequirement, held, missingRequirement, testQueued } from "./fixtures.test-helper.js";
import { emptyState, reduce, type ProjectionInput } from "./projection.js";
import { pageView, requirementWords } from "./view.js";

const msg = (topic: string, body: unknown): ProjectionInput => ({ topic: `org.atomic-ci.dev.${topic}`, body });
const fold = (messages: ProjectionInput[]) => messages.reduce((s, m) => reduce(s, m), emptyState());
const req = (r: Record<string, unknown>) => r as unknown as GreenwaveRequirement;
const SHORT = COMMIT.slice(0, 12);

describe("requirementWords", () => {
  it("says which package's test failed on which compose", () => {
    expect(requirementWords(req(failedRequirement(COMMIT, "podman")))).toBe(`podman's test atomic-ci.podman.tests.functional failed on compose ${SHORT}`);
  });

  it("says a missing test has not run yet, with its state when known", () => {
    expect(requirementWords(req(missingRequirement(COMMIT, "atomic-ci.ostree.tests.functional", "QUEUED")))).toBe(`ostree's test atomic-ci.ostree.tests.functional has not run yet on compose ${SHORT} (queued)`);
    expect(requirementWords(req(missingRequirement(COMMIT, "atomic-ci.ostree.tests.functional")), { states: new Map([["atomic-ci.ostree.tests.functional", "running"]]) })).toBe(
      `ostree's test atomic-ci.ostree.tests.functional has not run yet on compose ${SHORT} (running)`,
    );
    expect(requirementWords(req(missingRequirement(COMMIT, "atomic-ci.compose.image-tests.functional")))).toBe(`test atomic-ci.compose.image-tests.functional has not run yet on compose ${SHORT}`);
  });

  it("names builds, errors, scenarios, gating.yaml problems and unknown types", () => {
    expect(
      requirementWords(req({ type: "test-result-errored", testcase: "fedora-ci.koji-build.tier0.functional", subject_type: "koji_build", subject_identifier: "bash-5.2.37-1.fc41", scenario: "x86_64", error_reason: "runner lost" })),
    ).toBe("bash's test fedora-ci.koji-build.tier0.functional could not run on build bash-5.2.37-1.fc41 (x86_64): runner lost");
    expect(requirementWords(req({ type: "invalid-gating-yaml", subject_type: "koji_build", subject_identifier: "bash-5.2.37-1.fc41", details: "bad rule" }))).toBe(
      "the gating.yaml for build bash-5.2.37-1.fc41 is invalid: bad rule",
    );
    expect(requirementWords(req({ type: "shiny-new-type", testcase: "x.y.z", subject_type: "compose", subject_identifier: COMMIT }))).toBe(`shiny-new-type x.y.z on compose ${SHORT}`);
    // The component a result named wins over guessing from the name.
    expect(requirementWords(req(failedRequirement(COMMIT, "podman")), { components: new Map([["atomic-ci.podman.tests.functional", "podman-docker"]]) })).toMatch(/^podman-docker's test/);
  });
});

describe("pageView", () => {
  const podman = changeSetQueued([buildMember("podman-5.3.0-1.fc41")]);
  const CS = podman.change_set_id;
  const stage = (messages: ProjectionInput[]) => pageView(fold([msg("pipeline.change-set.queued", podman), ...messages])).changeSets[0]?.stage;

  it("gives each change set the stage it is at", () => {
    expect(stage([])).toEqual({ label: "queued", tone: "idle" });
    expect(stage([msg("pipeline.compose.queued", composeQueued(CS))])).toEqual({ label: "compose queued", tone: "busy" });
    expect(stage([msg("pipeline.compose.error", composeError(CS))])).toEqual({ label: "compose failed", tone: "fail" });
    const complete = msg("pipeline.compose.complete", composeComplete(CS));
    expect(stage([complete])?.label).toBe("composed");
    expect(stage([complete, msg("ci.productmd-compose.test.queued", testQueued(CS, "podman"))])?.label).toBe("testing");
    expect(stage([complete, msg("greenwave.decision.update", decision(COMMIT, false, [missingRequirement(COMMIT, "atomic-ci.podman.tests.functional", "RUNNING")]))])).toEqual({ label: "testing", tone: "busy" });
    expect(stage([complete, msg("greenwave.decision.update", decision(COMMIT, false, [failedRequirement(COMMIT, "podman")]))])).toEqual({ label: "gate failed", tone: "fail" });
    expect(stage([complete, msg("greenwave.decision.update", decision(COMMIT, true, []))])).toEqual({ label: "gate passed", tone: "pass" });
    expect(stage([complete, msg("greenwave.decision.update", decision(COMMIT, true, [])), msg("pipeline.release.held", held("stable", COMMIT, CS))])).toEqual({ label: "held for stable", tone: "wait" });
    expect(stage([complete, msg("pipeline.release.delivered", delivered("stable", COMMIT, CS))])).toEqual({ label: "released to stable", tone: "pass" });
  });

  it("joins decisions on the compose's commit and shows unsatisfied requirements in plain words", () => {
    const view = pageView(
      fold([
        msg("pipeline.change-set.queued", podman),
        msg("pipeline.compose.complete", composeComplete(CS)),
        msg("ci.productmd-compose.test.queued", testQueued(CS, "ostree")),
        msg("greenwave.decision.update", decision(COMMIT, false, [failedRequirement(COMMIT, "podman"), missingRequirement(COMMIT, "atomic-ci.ostree.tests.functional")])),
        msg("greenwave.decision.update", decision("9".repeat(64), true, [])),
      ]),
    );
    const gates = view.changeSets[0]?.composes[0]?.gates;
    expect(gates).toHaveLength(1);
    expect(gates?.[0]?.requirements).toEqual([
      `podman's test atomic-ci.podman.tests.functional failed on compose ${SHORT}`,
      `ostree's test atomic-ci.ostree.tests.functional has not run yet on compose ${SHORT} (queued)`,
    ]);
  });
});
