// The gatekeeper's stores: one contract, run against the memory stores and the Redis ones (the
// real Redis), and a restart: a second gatekeeper on the same Redis keys goes on where the first
// stopped (previous decisions, waiver ids, marked subjects, a culprit search half done).
import type { Decision, Subject } from "@atomic-ci/gating";
import { ChangeSetQueued, changeSetIdOf, type ChangeSetMember, type ComposeComplete, type GreenwaveDecisionUpdate, type ResultsdbResult, type WaiverdbWaiver } from "@atomic-ci/messages";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../../../test/support/index.js";
import { memberSetKey } from "./culprits/core.js";
import { CulpritFinder } from "./culprits/finder.js";
import { Gatekeeper } from "./gatekeeper.js";
import { parsePolicyFiles } from "./policies.js";
import { RedisStores } from "./redis-store.js";
import { memoryStores, ResultView, type GatekeeperStores } from "./store.js";

const opened: RedisStores[] = [];
const prefixes: string[] = [];

/** Stores on their own connection, as a separate (or restarted) process has. */
async function redisStores(prefix: string): Promise<RedisStores> {
  const stores = new RedisStores({ url: testServices().redisUrl, prefix });
  opened.push(stores);
  await stores.connect();
  return stores;
}

function freshPrefix(): string {
  const prefix = uniqueName("test-gatekeeper");
  prefixes.push(prefix);
  return prefix;
}

afterAll(async () => {
  const cleaner = await redisStores("unused");
  for (const prefix of prefixes) {
    const keys = await cleaner.client.keys(`${prefix}:*`);
    if (keys.length > 0) await cleaner.client.del(...keys);
  }
  await Promise.all(opened.map((s) => s.close()));
});

let nextResultId = 1;
function result(item: string, outcome: ResultsdbResult["outcome"], data: Record<string, string[]> = {}, testcase = "fedora-ci.koji-build.tier0.functional"): ResultsdbResult {
  const id = nextResultId++;
  return { id, outcome, testcase: { name: testcase }, data: { item: [item], type: ["koji_build"], ...data }, submit_time: new Date(Date.UTC(2025, 0, 1, 0, 0, id)).toISOString() };
}
function waiver(id: number, subject: string): WaiverdbWaiver {
  return {
    id,
    subject_type: "koji_build",
    subject_identifier: subject,
    subject: { type: "koji_build", item: subject },
    testcase: "t",
    product_version: "fedora-41",
    waived: true,
    comment: "c",
    username: "u",
    proxied_by: null,
    scenario: null,
    timestamp: "2025-01-01T00:00:00.000Z",
  };
}
const decision = (pass: boolean): Decision => ({ policies_satisfied: pass, summary: pass ? "ok" : "no", applicable_policies: ["p"], satisfied_requirements: [], unsatisfied_requirements: [] });
const build = (nvr: string): ChangeSetMember => ({ kind: "build", package: nvr.split("-").slice(0, -2).join("-"), nvr, source_message_id: nvr, source_topic: "t" });
function changeSet(nvrs: readonly string[], extra: Partial<ChangeSetQueued> = {}): ChangeSetQueued {
  const members = nvrs.map(build);
  return { change_set_id: changeSetIdOf(members), version: "1.0.0", generated_at: "2025-01-01T00:00:00Z", reason: "batch", members, definition: { repo: "fedora-atomic", branch: "f41" }, ...extra };
}

describe.each([
  ["memory", () => Promise.resolve(memoryStores())],
  ["redis", () => redisStores(freshPrefix())],
] as const)("gatekeeper stores contract: %s", (_name, make: () => Promise<GatekeeperStores>) => {
  it("indexes results by item and by the composes they ran on; the same id replaces", async () => {
    const { results } = await make();
    const queued = result("bash-1-1.fc41", "QUEUED", { compose: ["c1"], dist_git_commit: ["a".repeat(40)] });
    await results.add(queued);
    await results.add(result("c1", "PASSED", { type: ["compose"] }, "host"));
    await results.add({ ...queued, outcome: "PASSED" });
    expect((await results.about("bash-1-1.fc41")).map((r) => r.outcome)).toEqual(["PASSED"]);
    expect((await results.about("c1")).map((r) => r.testcase.name).sort()).toEqual(["fedora-ci.koji-build.tier0.functional", "host"]);
    expect(await results.about("nothing")).toEqual([]);
    const view = new ResultView(results);
    expect(await view.composeMembers("c1")).toEqual(["bash-1-1.fc41"]);
    expect(await view.composesOf("bash-1-1.fc41")).toEqual(["c1"]);
    expect(await view.commitOf("bash-1-1.fc41")).toBe("a".repeat(40));
    expect(await view.forSubject({ type: "compose", identifier: "c1" }, "host")).toHaveLength(1);
  });

  it("hands out waiver ids above every id seen, never twice", async () => {
    const { waivers } = await make();
    expect(await waivers.nextId()).toBe(1);
    await waivers.add(waiver(1, "a-1-1"));
    await waivers.add(waiver(41, "b-1-1"));
    expect(await waivers.nextId()).toBe(42);
    expect(await waivers.nextId()).toBe(43);
    await waivers.add(waiver(7, "c-1-1"));
    expect(await waivers.nextId()).toBe(44);
    expect((await waivers.all()).map((w) => w.id)).toEqual([1, 7, 41]);
  });

  it("keeps last decisions, and pending marks that only the pass that read them clears", async () => {
    const { decisions } = await make();
    expect(await decisions.get("k")).toBeUndefined();
    await decisions.set("k", decision(false));
    await decisions.set("k", decision(true));
    expect(await decisions.get("k")).toEqual(decision(true));
    const a: Subject = { type: "koji_build", identifier: "a-1-1" };
    const c: Subject = { type: "compose", identifier: "c1" };
    await decisions.markPending([a, c]);
    const read = await decisions.pending();
    expect(read.map((p) => p.subject)).toEqual([a, c]);
    // a is marked again after the pass read it: clearing the old mark leaves the new one.
    await decisions.markPending([a]);
    await decisions.clearPending(read);
    expect((await decisions.pending()).map((p) => p.subject)).toEqual([a]);
    await decisions.clearPending(await decisions.pending());
    expect(await decisions.pending()).toEqual([]);
  });

  it("keeps change sets, composes, verdicts and searches", async () => {
    const { culprits } = await make();
    const cs = changeSet(["a-1-1.fc41", "b-1-1.fc41"], { units: [["build:a-1-1.fc41", "build:b-1-1.fc41"]] });
    await culprits.putChangeSet(cs);
    expect(await culprits.getChangeSet(cs.change_set_id)).toEqual(cs);
    expect(await culprits.getChangeSet("cs-0000000000000000")).toBeUndefined();
    await culprits.setComposed("cs-1", { commit: "f".repeat(64) });
    await culprits.setComposed("cs-2", { commit: "f".repeat(64) });
    await culprits.setComposed("cs-3", { error: "nothing provides x" });
    expect(await culprits.composedTo("f".repeat(64))).toEqual(["cs-1", "cs-2"]);
    await culprits.forgetComposed("cs-2");
    expect(await culprits.composedTo("f".repeat(64))).toEqual(["cs-1"]);
    expect(await culprits.getComposed("cs-2")).toBeUndefined();
    expect(await culprits.getComposed("cs-3")).toEqual({ error: "nothing provides x" });
    await culprits.setVerdict("f".repeat(64), { pass: false, failing: ["t"] });
    expect(await culprits.getVerdict("f".repeat(64))).toEqual({ pass: false, failing: ["t"] });
    const whole = { pass: false as const, failing: ["t"] };
    expect(await culprits.startSearch({ parent: cs, whole, answers: {} })).toBe(true);
    expect(await culprits.startSearch({ parent: cs, whole, answers: {} })).toBe(false);
    await culprits.recordAnswer(cs.change_set_id, memberSetKey(["build:a-1-1.fc41"]), { pass: true });
    expect(await culprits.running()).toEqual([{ parent: cs, whole, answers: { [memberSetKey(["build:a-1-1.fc41"])]: { pass: true } } }]);
    await culprits.finishSearch(cs.change_set_id, { change_set_id: cs.change_set_id, version: "1.0.0", generated_at: "x", culprits: [], accepted: [], composes_tried: 1 });
    expect(await culprits.running()).toEqual([]);
    expect(await culprits.startSearch({ parent: cs, whole, answers: {} })).toBe(false);
  });
});

describe("a restarted gatekeeper on Redis", () => {
  const POLICY = `--- !Policy
id: package-gate
product_versions: [fedora-*]
decision_contexts: [bodhi_update_push_testing]
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: fedora-ci.koji-build.tier0.functional}
`;
  function gatekeeper(stores: GatekeeperStores, published: { topic: string; body: unknown }[]): Gatekeeper {
    return new Gatekeeper({
      bus: { publish: (topic: string, body: unknown) => (published.push({ topic, body }), Promise.resolve()) } as never,
      settings: { productVersion: "fedora-41", contexts: { package: "bodhi_update_push_testing", compose: "atomic_ci_compose_gate" } },
      policies: parsePolicyFiles(new Map([["p.yaml", POLICY]])),
      remoteGatingYaml: () => Promise.resolve({ found: false }),
      logger: { info: () => undefined, debug: () => undefined, warn: () => undefined },
      now: () => new Date("2025-01-01T00:00:00Z"),
      stores,
    });
  }
  const updates = (published: { topic: string; body: unknown }[]) => published.filter((p) => p.topic === "greenwave.decision.update").map((p) => p.body as GreenwaveDecisionUpdate);

  it("keeps previous decisions, results, waivers and their ids, and decides what was marked but not decided", async () => {
    const prefix = freshPrefix();
    const before: { topic: string; body: unknown }[] = [];
    const first = gatekeeper(await redisStores(prefix), before);
    await first.onResult(result("podman-5-1.fc41", "FAILED"));
    const input = { subject_type: "koji_build", subject_identifier: "bash-5-1.fc41", testcase: "fedora-ci.koji-build.tier0.functional", product_version: "fedora-41", waived: true, comment: "known", username: "alice" };
    const w1 = await first.submitWaiver(input);
    expect(updates(before).map((u) => [u.subject_identifier, u.policies_satisfied])).toEqual([
      ["podman-5-1.fc41", false],
      ["bash-5-1.fc41", true],
    ]);
    // A result stored and marked, and the process gone before its pass.
    await first.stores.results.add(result("ostree-1-1.fc41", "PASSED"));
    await first.stores.decisions.markPending([{ type: "koji_build", identifier: "ostree-1-1.fc41" }]);
    await first.stop();

    const after: { topic: string; body: unknown }[] = [];
    const second = gatekeeper(await redisStores(prefix), after);
    await second.start();
    await second.idle();
    expect(updates(after)).toEqual([expect.objectContaining({ subject_identifier: "ostree-1-1.fc41", policies_satisfied: true, previous: null })]);
    expect(await second.stores.decisions.pending()).toEqual([]);
    // The pass on podman knows the decision made before the restart.
    const passed = result("podman-5-1.fc41", "PASSED");
    await second.onResult(passed);
    expect(updates(after).at(-1)).toMatchObject({ subject_identifier: "podman-5-1.fc41", policies_satisfied: true, previous: { policies_satisfied: false } });
    // The same result again: unchanged, nothing published.
    const count = after.length;
    await second.onResult(passed);
    expect(updates(after).slice(count)).toEqual([]);
    const w2 = await second.submitWaiver({ ...input, waived: false });
    expect(w2.id).toBeGreaterThan(w1.id);
    expect((await second.stores.waivers.all()).map((w) => w.id)).toEqual([w1.id, w2.id]);
    expect(updates(after).at(-1)).toMatchObject({ subject_identifier: "bash-5-1.fc41", policies_satisfied: false, previous: { policies_satisfied: true } });
  });

  it("resumes a culprit search: answers known before the restart are not asked again", async () => {
    const prefix = freshPrefix();
    const NVRS = ["a-1-1.fc41", "b-1-1.fc41", "c-1-1.fc41", "d-1-1.fc41", "e-1-1.fc41", "f-1-1.fc41", "g-1-1.fc41", "h-1-1.fc41"];
    const BROKEN = "f-1-1.fc41";
    const commitOf = (nvrs: readonly string[]) => changeSetIdOf(nvrs.map(build)).slice(3).padEnd(64, "0");
    const gate = (pass: boolean): Decision => ({
      policies_satisfied: pass,
      summary: "",
      satisfied_requirements: [],
      unsatisfied_requirements: pass ? [] : [{ type: "test-result-failed", testcase: "t", subject_type: "compose", subject_identifier: "x", scenario: null, source: null, item: { type: "compose", item: "x" }, result_id: 1, result_state: "FAILED" } as never],
    });
    /** A fake pipeline that composes and gates each subset, until `limit` subsets were answered (then the process "dies"). */
    function pipeline(limit: number) {
      const asked: string[][] = [];
      const holder: { finder?: CulpritFinder } = {};
      const bus = {
        publish: (topic: string, body: unknown) => {
          if (topic !== "pipeline.change-set.queued") return Promise.resolve();
          const cs = ChangeSetQueued.parse(body);
          const nvrs = cs.members.map((m) => (m as { nvr: string }).nvr);
          asked.push(nvrs);
          if (asked.length > limit) return Promise.resolve();
          setImmediate(() => {
            void (async () => {
              await holder.finder?.onComposeComplete({ change_set_id: cs.change_set_id, commit: commitOf(nvrs) } as ComposeComplete);
              await holder.finder?.onComposeDecision(commitOf(nvrs), gate(!nvrs.includes(BROKEN)));
            })();
          });
          return Promise.resolve();
        },
      };
      return { bus, asked, holder };
    }
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const now = () => new Date("2025-01-01T00:00:00Z");

    const one = pipeline(2);
    const stores1 = await redisStores(prefix);
    const finder1 = new CulpritFinder({ bus: one.bus as never, logger, now, store: stores1.culprits });
    one.holder.finder = finder1;
    const parent = changeSet(NVRS);
    await finder1.onChangeSet(parent);
    await finder1.onComposeComplete({ change_set_id: parent.change_set_id, commit: commitOf(NVRS) } as ComposeComplete);
    await finder1.onComposeDecision(commitOf(NVRS), gate(false));
    // Two answers in, the third asked and never answered: the process is gone.
    for (let i = 0; i < 100 && one.asked.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(one.asked).toHaveLength(3);
    expect(Object.keys((await stores1.culprits.running())[0]?.answers ?? {})).toHaveLength(2);

    const two = pipeline(Infinity);
    const finder2 = new CulpritFinder({ bus: two.bus as never, logger, now, store: (await redisStores(prefix)).culprits });
    two.holder.finder = finder2;
    await finder2.resume();
    await finder2.idle();
    expect(finder2.reports).toEqual([
      expect.objectContaining({ change_set_id: parent.change_set_id, culprits: [expect.objectContaining({ kind: "alone", members: [`build:${BROKEN}`] })], accepted: NVRS.filter((n) => n !== BROKEN).map((n) => `build:${n}`) }),
    ]);
    // Nothing answered before the restart was asked again; the unanswered one was.
    const answeredBefore = one.asked.slice(0, 2).map((a) => memberSetKey(a));
    expect(two.asked.map((a) => memberSetKey(a)).filter((k) => answeredBefore.includes(k))).toEqual([]);
    expect(two.asked[0]).toEqual(one.asked[2]);
    expect(await (await redisStores(prefix)).culprits.running()).toEqual([]);
  });
});
