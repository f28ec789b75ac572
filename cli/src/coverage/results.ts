// The second key result: the share of tests that passed on the latest compose, read from a
// ResultsDB-style API (`GET /api/v2.0/results?item=<commit>`, `{data, next}` pages). The latest
// compose is `--compose COMMIT`, or else the item of the newest `type=compose` result.
import { latestPerTestcase, type ResultsdbResult } from "@atomic-ci/testing";

export interface ComposeResults {
  /** The compose's OSTree commit (the results' `item`). */
  compose: string;
  /** Latest result per test case and scenario. */
  tests: number;
  passed: number;
  /** passed / tests (0 when there are none). */
  share: number;
  /** Test cases whose latest outcome is not PASSED, with that outcome. */
  notPassed: { testcase: string; outcome: string }[];
}

interface Page {
  data: ResultsdbResult[];
  next?: string | null;
}

const MAX_PAGES = 100;

async function getPage(url: URL): Promise<Page> {
  const res = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`results API: GET ${url.pathname}${url.search} answered ${res.status}`);
  const body = (await res.json()) as Partial<Page>;
  if (!Array.isArray(body.data)) throw new Error(`results API: GET ${url.pathname}${url.search} did not answer {data: [...]}`);
  return { data: body.data, next: body.next ?? null };
}

function resultsUrl(base: string, params: Record<string, string>): URL {
  const url = new URL("api/v2.0/results", base.endsWith("/") ? base : `${base}/`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

/** The item of the newest compose result, or undefined when there is none. */
export async function latestCompose(base: string): Promise<string | undefined> {
  const page = await getPage(resultsUrl(base, { type: "compose", limit: "1" }));
  return page.data[0]?.data["item"]?.[0];
}

export async function composeResults(base: string, compose: string): Promise<ComposeResults> {
  const all: ResultsdbResult[] = [];
  let url: URL | undefined = resultsUrl(base, { item: compose, limit: "100" });
  for (let n = 0; url && n < MAX_PAGES; n++) {
    const page = await getPage(url);
    all.push(...page.data);
    url = page.next ? new URL(page.next, url) : undefined;
  }
  // Latest first, as the API answers; a queued or running test counts as not passed.
  const latest = latestPerTestcase([...all].sort((a, b) => b.id - a.id));
  const passed = latest.filter((r) => r.outcome === "PASSED").length;
  return {
    compose,
    tests: latest.length,
    passed,
    share: latest.length === 0 ? 0 : passed / latest.length,
    notPassed: latest.filter((r) => r.outcome !== "PASSED").map((r) => ({ testcase: r.testcase.name, outcome: r.outcome })),
  };
}
