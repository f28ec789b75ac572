import { afterEach, describe, expect, it } from "vitest";
import { MemoryResultsStore, type ResultsStore } from "./store.js";
import { clock, COMMIT, fill, OTHER, resultsStoreContract } from "./store-contract.js";
import { ResultsServer } from "./http.js";

resultsStoreContract("MemoryResultsStore", (now) => Promise.resolve(new MemoryResultsStore(now)));

async function filled(): Promise<ResultsStore> {
  return fill(new MemoryResultsStore(clock()));
}

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
