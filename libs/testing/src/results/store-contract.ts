// The behaviour every ResultsStore shares (ResultsDB API v2 semantics), run against each
// implementation: results.test.ts (memory), redis.int.test.ts (Redis). Not a test file itself.
import { describe, expect, it } from "vitest";
import type { NewResult, ResultsQuery, ResultsStore } from "./store.js";

export const COMMIT = "a".repeat(64);
export const OTHER = "b".repeat(64);

/** A clock a minute further at every reading. */
export function clock(start = Date.parse("2025-01-01T00:00:00Z")): () => Date {
  let t = start;
  return () => new Date((t += 60_000));
}

export function result(name: string, outcome: NewResult["outcome"], item = COMMIT, extra: Record<string, string[]> = {}): NewResult {
  return { outcome, testcase: { name }, data: { item: [item], type: ["compose"], arch: ["x86_64"], ...extra }, note: "" };
}

/** Five results: a test's QUEUED → RUNNING → PASSED, a failed host test, a pass on another commit. */
export async function fill(store: ResultsStore): Promise<ResultsStore> {
  await store.submit(result("atomic-ci.ostree.smoke.functional", "QUEUED"));
  await store.submit(result("atomic-ci.ostree.smoke.functional", "RUNNING"));
  await store.submit(result("atomic-ci.ostree.smoke.functional", "PASSED"));
  await store.submit(result("atomic-ci.host.host-smoke.functional", "FAILED"));
  await store.submit(result("atomic-ci.podman.smoke.functional", "PASSED", OTHER, { scenario: ["x86_64.bwrap"] }));
  return store;
}

/** `make` gives an empty store reading `now` for submit times. */
export function resultsStoreContract(name: string, make: (now: () => Date) => Promise<ResultsStore>): void {
  describe(`${name}: the ResultsStore contract`, () => {
    const filled = async () => fill(await make(clock()));

    it("assigns increasing ids and submit times, and validates against ResultsDB's result schema", async () => {
      const store = await make(clock());
      const a = await store.submit(result("t.a.functional", "PASSED"));
      const b = await store.submit(result("t.a.functional", "FAILED"));
      expect([a.id, b.id]).toEqual([1, 2]);
      expect(a.submit_time).toBe("2025-01-01T00:01:00.000Z");
      await expect(store.submit({ ...result("t.b.functional", "PASSED"), outcome: "GREEN" as never })).rejects.toThrow(/outcome/);
      await expect(store.submit({ ...result("", "PASSED") })).rejects.toThrow();
      // A rejected result takes no id.
      expect((await store.submit(result("t.c.functional", "INFO"))).id).toBe(3);
      expect(await store.get(2)).toMatchObject({ id: 2, outcome: "FAILED" });
      expect(await store.get(99)).toBeUndefined();
    });

    it("filters by item, type, test case globs, outcome, since and extra data, latest first", async () => {
      const store = await filled();
      const ids = async (q: ResultsQuery) => (await store.query(q)).results.map((r) => r.id);
      expect(await ids({ item: [COMMIT] })).toEqual([4, 3, 2, 1]);
      expect(await ids({ item: [OTHER], type: ["compose"] })).toEqual([5]);
      expect(await ids({ item: [COMMIT, OTHER], outcome: ["PASSED"] })).toEqual([5, 3]);
      expect(await ids({ item: ["nothing"] })).toEqual([]);
      expect(await ids({ type: ["koji_build"] })).toEqual([]);
      expect(await ids({ testcases: ["atomic-ci.ostree.*"] })).toEqual([3, 2, 1]);
      expect(await ids({ testcases: ["atomic-ci.host.host-smoke.functional", "*.podman.*"] })).toEqual([5, 4]);
      expect(await ids({ testcases: ["atomic-ci.host.host-smoke.functional", "atomic-ci.ostree.smoke.functional"] })).toEqual([4, 3, 2, 1]);
      expect(await ids({ item: [OTHER], testcases: ["atomic-ci.ostree.smoke.functional"] })).toEqual([]);
      // `.` in a pattern is literal, not any character.
      expect(await ids({ testcases: ["atomic-ci.ostree.smoke.functiona."] })).toEqual([]);
      expect(await ids({ outcome: ["PASSED"] })).toEqual([5, 3]);
      expect(await ids({ since: new Date("2025-01-01T00:03:00Z") })).toEqual([5, 4, 3]);
      expect(await ids({ since: new Date("2025-01-01T00:02:00Z"), until: new Date("2025-01-01T00:03:00Z") })).toEqual([3, 2]);
      expect(await ids({ data: { scenario: ["x86_64.bwrap"] } })).toEqual([5]);
      expect(await ids({ limit: 2 })).toEqual([5, 4]);
      expect(await store.query({ limit: 2, page: 2 })).toEqual({ results: [expect.objectContaining({ id: 1 })], more: false });
      expect((await store.query({ limit: 2, page: 1 })).more).toBe(true);
      expect((await store.query({ item: [COMMIT], limit: 4 })).more).toBe(false);
      expect((await store.query({ item: [COMMIT], limit: 3 })).more).toBe(true);
    });

    it("gives the latest result per test case (and scenario): a re-run's result wins, history stays", async () => {
      const store = await filled();
      expect((await store.latest({ item: [COMMIT] })).map((r) => [r.testcase.name, r.outcome])).toEqual([
        ["atomic-ci.host.host-smoke.functional", "FAILED"],
        ["atomic-ci.ostree.smoke.functional", "PASSED"],
      ]);
      await store.submit(result("atomic-ci.host.host-smoke.functional", "PASSED", COMMIT, { rerun: ["true"] }));
      expect((await store.latest({ item: [COMMIT], testcases: ["atomic-ci.host.*"] })).map((r) => [r.id, r.outcome])).toEqual([[6, "PASSED"]]);
      expect((await store.query({ testcases: ["atomic-ci.host.host-smoke.functional"] })).results.map((r) => r.outcome)).toEqual(["PASSED", "FAILED"]);
      await store.submit(result("atomic-ci.host.host-smoke.functional", "FAILED", COMMIT, { scenario: ["aarch64.bwrap"] }));
      expect((await store.latest({ testcases: ["atomic-ci.host.host-smoke.functional"] })).map((r) => [r.id, r.outcome])).toEqual([
        [7, "FAILED"],
        [6, "PASSED"],
      ]);
    });

    it("hands out copies: a caller cannot change what is stored", async () => {
      const store = await filled();
      const got = await store.get(3);
      if (!got) throw new Error("missing");
      got.outcome = "FAILED";
      expect((await store.get(3))?.outcome).toBe("PASSED");
      const [listed] = (await store.query({ item: [COMMIT] })).results;
      if (!listed) throw new Error("missing");
      listed.data["item"] = ["changed"];
      expect((await store.get(listed.id))?.data["item"]).toEqual([COMMIT]);
    });

    it("pages through more results than one scan takes", async () => {
      const store = await make(clock());
      for (let i = 0; i < 620; i++) await store.submit(result(`t.n${i % 7}.functional`, i % 2 === 0 ? "PASSED" : "FAILED", i % 3 === 0 ? COMMIT : OTHER));
      const page = await store.query({ outcome: ["FAILED"], limit: 100, page: 3 });
      expect(page.results.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, k) => 620 - 2 * (300 + k)));
      expect(page.more).toBe(false);
      expect((await store.query({ item: [COMMIT], limit: 1000 })).results).toHaveLength(207);
      expect((await store.latest({ item: [OTHER] })).map((r) => r.testcase.name).sort()).toEqual(["t.n0.functional", "t.n1.functional", "t.n2.functional", "t.n3.functional", "t.n4.functional", "t.n5.functional", "t.n6.functional"]);
    });
  });
}
