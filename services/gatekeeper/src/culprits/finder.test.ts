import type { Decision } from "@atomic-ci/gating";
import { ChangeSetQueued, changeSetIdOf, CulpritsFoundMessage, validateBody, type ChangeSetMember, type ComposeComplete } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import { CulpritFinder, unitsOf, verdictOf } from "./finder.js";

const build = (nvr: string): ChangeSetMember => ({ kind: "build", package: nvr.split("-").slice(0, -2).join("-"), nvr, source_message_id: nvr, source_topic: "t" });
const BROKEN = ["foo-cli-2.0-1.fc41", "libfoo-2.0-1.fc41"];
const NVRS = [...BROKEN, "ostree-2024.9-1.fc41"];

function changeSet(nvrs: readonly string[]): ChangeSetQueued {
  const members = nvrs.map(build);
  return { change_set_id: changeSetIdOf(members), version: "1.0.0", generated_at: "2025-01-01T00:00:00Z", reason: "batch", members, definition: { repo: "fedora-atomic", branch: "f41" } };
}
const commitOf = (nvrs: readonly string[]) => changeSetIdOf(nvrs.map(build)).slice(3).padEnd(64, "0");
const complete = (cs: ChangeSetQueued): ComposeComplete =>
  ({ change_set_id: cs.change_set_id, commit: commitOf(cs.members.map((m) => (m as { nvr: string }).nvr)) }) as ComposeComplete;
const decision = (pass: boolean, missing = false): Decision => ({
  policies_satisfied: pass,
  summary: "",
  satisfied_requirements: [],
  unsatisfied_requirements: pass
    ? []
    : [
        missing
          ? ({ type: "test-result-missing", testcase: "atomic-ci.compose.host-tests.functional", subject_type: "compose", subject_identifier: "c", scenario: null, source: null, item: { type: "compose", item: "c" } } as never)
          : ({ type: "test-result-failed", testcase: "fedora-ci.koji-build.tier0.functional", subject_type: "koji_build", subject_identifier: "foo-cli-2.0-1.fc41", scenario: null, source: null, item: { type: "koji_build", item: "foo-cli-2.0-1.fc41" }, result_id: 1, result_state: "FAILED" } as never),
      ],
});

describe("verdictOf", () => {
  it("is final only when nothing is missing", () => {
    expect(verdictOf(decision(true))).toEqual({ pass: true });
    expect(verdictOf(decision(false, true))).toBeUndefined();
    expect(verdictOf(decision(false))).toEqual({ pass: false, failing: ["fedora-ci.koji-build.tier0.functional (foo-cli-2.0-1.fc41)"] });
  });
});

describe("CulpritFinder (bus and pipeline faked)", () => {
  it("asks for bisect change sets of subsets, waits for each compose's gate, and reports the pair", async () => {
    const published: { topic: string; body: unknown }[] = [];
    const holder: { finder?: CulpritFinder } = {};
    // The fake pipeline: each bisect change set is composed and gated right away (pair = broken).
    const bus = {
      publish: (topic: string, body: unknown) => {
        published.push({ topic, body });
        if (topic === "pipeline.change-set.queued") {
          const cs = ChangeSetQueued.parse(body);
          const nvrs = cs.members.map((m) => (m as { nvr: string }).nvr);
          queueMicrotask(() => {
            void (async () => {
              await holder.finder?.onComposeComplete(complete(cs));
              await holder.finder?.onComposeDecision(commitOf(nvrs), decision(!BROKEN.every((b) => nvrs.includes(b))));
            })();
          });
        }
        return Promise.resolve();
      },
    };
    const finder = new CulpritFinder({ bus: bus as never, logger: { info: () => undefined, warn: () => undefined, error: () => undefined }, now: () => new Date("2025-01-01T00:00:00Z") });
    holder.finder = finder;
    const parent = changeSet(NVRS);
    await finder.onChangeSet(parent);
    await finder.onComposeComplete(complete(parent));
    // Still running: no search yet.
    await finder.onComposeDecision(commitOf(NVRS), decision(false, true));
    await finder.idle();
    expect(published).toEqual([]);
    await finder.onComposeDecision(commitOf(NVRS), decision(false));
    // The same verdict again does not start a second search.
    await finder.onComposeDecision(commitOf(NVRS), decision(false));
    await finder.idle();

    const subsets = published.filter((p) => p.topic === "pipeline.change-set.queued").map((p) => ChangeSetQueued.parse(p.body));
    expect(subsets.map((s) => [s.reason, s.parent_change_set_id, s.members.map((m) => (m as { nvr: string }).nvr).join("+")])).toEqual([
      ["bisect", parent.change_set_id, "foo-cli-2.0-1.fc41+libfoo-2.0-1.fc41"],
      ["bisect", parent.change_set_id, "foo-cli-2.0-1.fc41"],
      ["bisect", parent.change_set_id, "libfoo-2.0-1.fc41"],
      ["bisect", parent.change_set_id, "foo-cli-2.0-1.fc41+ostree-2024.9-1.fc41"],
    ]);
    const found = published.filter((p) => p.topic === "pipeline.culprits.found");
    expect(found).toHaveLength(1);
    expect(validateBody(CulpritsFoundMessage, found[0]?.body).ok).toBe(true);
    expect(found[0]?.body).toMatchObject({
      change_set_id: parent.change_set_id,
      culprits: [{ kind: "combination", members: ["build:foo-cli-2.0-1.fc41", "build:libfoo-2.0-1.fc41"], rejected: ["build:libfoo-2.0-1.fc41"], change_set_id: changeSet(BROKEN).change_set_id }],
      accepted: ["build:foo-cli-2.0-1.fc41", "build:ostree-2024.9-1.fc41"],
      accepted_change_set_id: changeSet(["foo-cli-2.0-1.fc41", "ostree-2024.9-1.fc41"]).change_set_id,
      composes_tried: 4,
      cycles: 3,
    });
  });

  it("starts nothing for a single build, a passing compose, a bisect change set or an infrastructure error", async () => {
    const published: unknown[] = [];
    const finder = new CulpritFinder({ bus: { publish: (_t: string, b: unknown) => (published.push(b), Promise.resolve()) } as never, logger: { info: () => undefined, warn: () => undefined, error: () => undefined }, now: () => new Date() });
    const single = changeSet(["podman-5.3.0-1.fc41"]);
    await finder.onChangeSet(single);
    await finder.onComposeComplete(complete(single));
    await finder.onComposeDecision(complete(single).commit, decision(false));
    const good = changeSet(NVRS);
    await finder.onChangeSet(good);
    await finder.onComposeComplete(complete(good));
    await finder.onComposeDecision(complete(good).commit, decision(true));
    const bisect = { ...changeSet(BROKEN), reason: "bisect" as const };
    await finder.onChangeSet(bisect);
    await finder.onComposeComplete(complete(bisect));
    await finder.onComposeDecision(complete(bisect).commit, decision(false));
    const infra = changeSet(["a-1-1.fc41", "b-1-1.fc41"]);
    await finder.onChangeSet(infra);
    await finder.onComposeError({ change_set_id: infra.change_set_id, kind: "infrastructure-error", reason: "disk full" } as never);
    await finder.idle();
    expect(published).toEqual([]);
    // A compose failure of several builds does start one.
    await finder.onComposeError({ change_set_id: infra.change_set_id, kind: "compose-failure", reason: "nothing provides libndp" } as never);
    expect(published).toHaveLength(1);
  });

  it("moves the builds of a declared unit together, and names them all when the unit is to blame", async () => {
    const published: { topic: string; body: unknown }[] = [];
    const holder: { finder?: CulpritFinder } = {};
    // rpm-ostree-2024.9 needs ostree-2024.9 (one Bodhi update): alone it would fail; the unit fails with podman.
    const fails = (nvrs: readonly string[]) => nvrs.includes("podman-5.3.0-1.fc41") && nvrs.includes("rpm-ostree-2024.9-1.fc41");
    const bus = {
      publish: (topic: string, body: unknown) => {
        published.push({ topic, body });
        if (topic === "pipeline.change-set.queued") {
          const cs = ChangeSetQueued.parse(body);
          const nvrs = cs.members.map((m) => (m as { nvr: string }).nvr);
          setImmediate(() => {
            void (async () => {
              await holder.finder?.onComposeComplete(complete(cs));
              await holder.finder?.onComposeDecision(commitOf(nvrs), decision(!fails(nvrs)));
            })();
          });
        }
        return Promise.resolve();
      },
    };
    const finder = new CulpritFinder({ bus: bus as never, logger: { info: () => undefined, warn: () => undefined, error: () => undefined }, now: () => new Date("2025-01-01T00:00:00Z") });
    holder.finder = finder;
    const nvrs = ["bash-5.2.37-1.fc41", "ostree-2024.9-1.fc41", "podman-5.3.0-1.fc41", "rpm-ostree-2024.9-1.fc41"];
    const unit = ["build:ostree-2024.9-1.fc41", "build:rpm-ostree-2024.9-1.fc41"];
    const parent = { ...changeSet(nvrs), units: [unit] };
    expect(unitsOf(parent)).toEqual([["build:bash-5.2.37-1.fc41"], unit, ["build:podman-5.3.0-1.fc41"]]);
    await finder.onChangeSet(parent);
    await finder.onComposeComplete(complete(parent));
    await finder.onComposeDecision(commitOf(nvrs), decision(false));
    await finder.idle();
    const subsets = published.filter((p) => p.topic === "pipeline.change-set.queued").map((p) => ChangeSetQueued.parse(p.body).members.map((m) => (m as { nvr: string }).nvr));
    expect(subsets.length).toBeGreaterThan(0);
    for (const s of subsets) expect(s.includes("ostree-2024.9-1.fc41"), s.join("+")).toBe(s.includes("rpm-ostree-2024.9-1.fc41"));
    const found = published.find((p) => p.topic === "pipeline.culprits.found")?.body;
    expect(found).toMatchObject({
      culprits: [{ kind: "combination", members: [...unit, "build:podman-5.3.0-1.fc41"], rejected: ["build:podman-5.3.0-1.fc41"] }],
      accepted: ["build:bash-5.2.37-1.fc41", ...unit],
    });
    // A change set that is one unit has nothing to search.
    const whole = { ...changeSet(["ostree-2024.9-1.fc41", "rpm-ostree-2024.9-1.fc41"]), units: [unit] };
    const before = published.length;
    await finder.onChangeSet(whole);
    await finder.onComposeComplete(complete(whole));
    await finder.onComposeDecision(complete(whole).commit, decision(false));
    await finder.idle();
    expect(published.length).toBe(before);
  });
});
