import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { clone, fixture } from "../fixtures.test-helper.js";
import { GreenwaveDecisionUpdate, GreenwaveDecisionUpdateMessage } from "./greenwave.js";

const rhel = fixture("greenwave.decision.update.json").body;
const fedora2018 = fixture("greenwave.decision.update.fedmsg-2018.json").body;

function paths(body: unknown): string[] {
  const result = validateBody(GreenwaveDecisionUpdateMessage, body);
  return result.ok ? [] : result.issues.map((i) => i.path);
}

describe("greenwave.decision.update", () => {
  it("reads both real decisions, the 2018 one without satisfied_requirements", () => {
    const old = GreenwaveDecisionUpdate.parse(fedora2018);
    expect(old.satisfied_requirements).toBeUndefined();
    expect(old.unsatisfied_requirements.map((r) => [r.type, r.testcase])).toEqual([["test-result-failed", "compose.cloud.all"]]);
    expect(old.previous?.summary).toBe("1 of 1 required test results missing");
    const documented = GreenwaveDecisionUpdate.parse(rhel);
    expect(documented.satisfied_requirements?.[0]).toMatchObject({ type: "test-result-passed", result_id: 7483048 });
  });

  it("takes a missing or null previous decision", () => {
    const body = clone(rhel);
    delete body.previous;
    expect(paths(body)).toEqual([]);
    expect(paths({ ...body, previous: null })).toEqual([]);
  });

  it("checks each known requirement type's own fields", () => {
    const body = clone(rhel) as { unsatisfied_requirements: Record<string, unknown>[] };
    body.unsatisfied_requirements.push({ type: "test-result-errored", testcase: "fedora-ci.koji-build.tier0.functional" });
    body.unsatisfied_requirements.push({ type: "test-result-failed", result_id: 1 });
    expect(paths(body)).toEqual(["unsatisfied_requirements.1.error_reason", "unsatisfied_requirements.2.testcase"]);
  });

  it("keeps a requirement type a newer Greenwave may add", () => {
    const body = clone(rhel) as { unsatisfied_requirements: Record<string, unknown>[] };
    body.unsatisfied_requirements.push({ type: "test-result-flaky", testcase: "x", new_field: 1 });
    body.unsatisfied_requirements.push({ type: "excluded", subject_type: "koji_build", subject_identifier: "a-1-1" });
    expect(paths(body)).toEqual([]);
    expect(paths({ ...body, unsatisfied_requirements: [{ testcase: "no type" }] })).toEqual(["unsatisfied_requirements.0.type"]);
  });

  it("derives the package of a koji_build subject and a summary", () => {
    const body = GreenwaveDecisionUpdate.parse({
      ...clone(rhel),
      subject_type: "koji_build",
      subject_identifier: "rpm-ostree-2025.11-1.fc44",
    });
    expect(GreenwaveDecisionUpdateMessage.packages?.(body)).toEqual(["rpm-ostree"]);
    expect(GreenwaveDecisionUpdateMessage.packages?.(GreenwaveDecisionUpdate.parse(rhel))).toEqual([]);
    expect(GreenwaveDecisionUpdateMessage.summary?.(GreenwaveDecisionUpdate.parse(fedora2018))).toBe(
      "compose Fedora-Cloud-Base-Vagrant-Rawhide-20180726.n.2.x86_64.vagrant-libvirt.box fails " +
        "rawhide_compose_sync_to_mirrors (fedora-rawhide): 1 of 1 required tests failed",
    );
  });
});
