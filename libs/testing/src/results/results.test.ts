import { afterEach, describe, expect, it } from "vitest";
import { MemoryResultsStore, type NewResult } from "./store.js";
import { ResultsServer } from "./http.js";

const COMMIT = "a".repeat(64);
const OTHER = "b".repeat(64);

function clock(start = Date.parse("2025-01-01T00:00:00Z")) {
  let t = start;
  return () => new Date((t += 60_000));
}

function result(name: string, outcome: NewResult["outcome"], item = COMMIT, extra: Record<string, string[]> = {}): NewResult {
  return { outcome, testcase: { name }, data: { item: [item], type: ["compose"], arch: ["x86_64"], ...extra }, note: "" };
}

async function filled(): Promise<MemoryResultsStore> {
  const store = new MemoryResultsStore(clock());
  await store.submit(result("atomic-ci.ostree.smoke.functional", "QUEUED"));
  await store.submit(result("atomic-ci.ostree.smoke.functional", "RUNNING"));
  await store.submit(result("atomic-ci.ostree.smoke.functional", "PASSED"));
  await store.submit(result("atomic-ci.host.host-smoke.functional", "FAILED"));
  await store.submit(result("atomic-ci.podman.smoke.functional", "PASSED", OTHER, { scenario: ["x86_64.bwrap"] }));
  return store;
}

describe("MemoryResultsStore", () => {
  it("assigns increasing ids and submit times, and validates against ResultsDB's result schema", async () => {
    const store = new MemoryResultsStore(clock());
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
    const ids = async (q: Parameters<MemoryResultsStore["query"]>[0]) => (await store.query(q)).results.map((r) => r.id);
    expect(await ids({ item: [COMMIT] })).toEqual([4, 3, 2, 1]);
    expect(await ids({ item: [OTHER], type: ["compose"] })).toEqual([5]);
    expect(await ids({ type: ["koji_build"] })).toEqual([]);
    expect(await ids({ testcases: ["atomic-ci.ostree.*"] })).toEqual([3, 2, 1]);
    expect(await ids({ testcases: ["atomic-ci.host.host-smoke.functional", "*.podman.*"] })).toEqual([5, 4]);
    // `.` in a pattern is literal, not any character.
    expect(await ids({ testcases: ["atomic-ci.ostree.smoke.functiona."] })).toEqual([]);
    expect(await ids({ outcome: ["PASSED"] })).toEqual([5, 3]);
    expect(await ids({ since: new Date("2025-01-01T00:03:00Z") })).toEqual([5, 4, 3]);
    expect(await ids({ since: new Date("2025-01-01T00:02:00Z"), until: new Date("2025-01-01T00:03:00Z") })).toEqual([3, 2]);
    expect(await ids({ data: { scenario: ["x86_64.bwrap"] } })).toEqual([5]);
    expect(await ids({ limit: 2 })).toEqual([5, 4]);
    expect(await store.query({ limit: 2, page: 2 })).toEqual({ results: [expect.objectContaining({ id: 1 })], more: false });
    expect((await store.query({ limit: 2, page: 1 })).more).toBe(true);
  });

  it("gives the latest result per test case", async () => {
    const store = await filled();
    expect((await store.latest({ item: [COMMIT] })).map((r) => [r.testcase.name, r.outcome])).toEqual([
      ["atomic-ci.host.host-smoke.functional", "FAILED"],
      ["atomic-ci.ostree.smoke.functional", "PASSED"],
    ]);
  });

  it("hands out copies: a caller cannot change what is stored", async () => {
    const store = await filled();
    const got = await store.get(3);
    if (!got) throw new Error("missing");
    got.outcome = "FAILED";
    expect((await store.get(3))?.outcome).toBe("PASSED");
  });
});

describe("the ResultsDB API over HTTP", () => {
  let server: ResultsServer | undefined;
  afterEach(async () => server?.close());

  async function start(): Promise<string> {
    server = new ResultsServer(await filled(), { host: "127.0.0.1", port: 0 });
    return `http://127.0.0.1:${await server.start()}`;
  }

  async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("lists results with ResultsDB's filters and the {data, next, prev} shape", async () => {
    const base = await start();
    const all = await get(`${base}/api/v2.0/results?item=${COMMIT}&testcases=atomic-ci.ostree.*`);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ next: null, prev: null });
    expect((all.body["data"] as { id: number; outcome: string }[]).map((r) => [r.id, r.outcome])).toEqual([
      [3, "PASSED"],
      [2, "RUNNING"],
      [1, "QUEUED"],
    ]);
    const both = await get(`${base}/api/v2.0/results?item=${COMMIT},${OTHER}&outcome=passed&type=compose`);
    expect((both.body["data"] as { id: number }[]).map((r) => r.id)).toEqual([5, 3]);
    const scenario = await get(`${base}/api/v2.0/results?scenario=x86_64.bwrap`);
    expect((scenario.body["data"] as { id: number }[]).map((r) => r.id)).toEqual([5]);
    const since = await get(`${base}/api/v2.0/results?since=2025-01-01T00:04:00Z`);
    expect((since.body["data"] as { id: number }[]).map((r) => r.id)).toEqual([5, 4]);
  });

  it("pages with next and prev links that work", async () => {
    const base = await start();
    const first = await get(`${base}/api/v2.0/results?limit=2&item=${COMMIT}`);
    expect((first.body["data"] as { id: number }[]).map((r) => r.id)).toEqual([4, 3]);
    expect(first.body["prev"]).toBeNull();
    const next = first.body["next"] as string;
    expect(next).toMatch(/^\/api\/v2\.0\/results\?.*page=1/);
    const second = await get(`${base}${next}`);
    expect((second.body["data"] as { id: number }[]).map((r) => r.id)).toEqual([2, 1]);
    expect(second.body["next"]).toBeNull();
    expect(second.body["prev"]).toMatch(/page=0/);
  });

  it("serves one result by id, the latest per test case, and errors as JSON", async () => {
    const base = await start();
    expect(await get(`${base}/api/v2.0/results/4`)).toMatchObject({ status: 200, body: { id: 4, outcome: "FAILED", testcase: { name: "atomic-ci.host.host-smoke.functional" } } });
    expect((await get(`${base}/api/v2.0/results/44`)).status).toBe(404);
    const latest = await get(`${base}/api/v2.0/results/latest?item=${COMMIT}`);
    expect((latest.body["data"] as { id: number }[]).map((r) => r.id)).toEqual([4, 3]);
    expect(await get(`${base}/api/v2.0/results?limit=0`)).toMatchObject({ status: 400, body: { message: "limit: must be an integer >= 1" } });
    expect(await get(`${base}/api/v2.0/results?outcome=GREEN`)).toMatchObject({ status: 400 });
    expect(await get(`${base}/api/v2.0/results?since=yesterday`)).toMatchObject({ status: 400 });
    expect((await get(`${base}/api/v2.0/testcases`)).status).toBe(404);
    const post = await fetch(`${base}/api/v2.0/results`, { method: "POST", body: "{}" });
    expect(post.status).toBe(405);
  });
});
