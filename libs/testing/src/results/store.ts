// Test results the ResultsDB way (API v2): immutable results with increasing integer ids; a
// test's state changes (QUEUED → RUNNING → PASSED) are new results, and readers take the
// latest. Stored results are validated against the messages library's ResultsdbResult.
import { ResultsdbResult, type ResultsdbOutcome } from "@atomic-ci/messages";

export type { ResultsdbResult, ResultsdbOutcome };

/** What a submitter gives; the store assigns `id` and `submit_time`. */
export interface NewResult {
  outcome: ResultsdbOutcome;
  testcase: { name: string; ref_url?: string | null };
  /** Every value a list of strings: `item`, `type`, `scenario`, `arch`, `passed_on_rerun`, ... */
  data: Record<string, string[]>;
  note?: string | null;
  ref_url?: string | null;
  groups?: string[];
}

export interface ResultsQuery {
  /** Any of these values in `data.item`. */
  item?: readonly string[];
  /** Any of these values in `data.type`. */
  type?: readonly string[];
  /** Test case names; `*` matches any run of characters. */
  testcases?: readonly string[];
  outcome?: readonly ResultsdbOutcome[];
  /** submit_time >= since (and <= until when given). */
  since?: Date;
  until?: Date;
  /** Other `data` keys: any of the values must be present (ResultsDB's extra-data filters). */
  data?: Readonly<Record<string, readonly string[]>>;
  /** Default 20, as ResultsDB. */
  limit?: number;
  /** 0-based page of `limit` results. */
  page?: number;
}

export interface ResultsPage {
  results: ResultsdbResult[];
  /** More results after this page. */
  more: boolean;
}

export interface ResultsStore {
  submit(result: NewResult): Promise<ResultsdbResult>;
  get(id: number): Promise<ResultsdbResult | undefined>;
  /** Latest first (by id). */
  query(query: ResultsQuery): Promise<ResultsPage>;
  /** The latest result of each test case (and scenario) matching the query, latest first. */
  latest(query: Omit<ResultsQuery, "limit" | "page">): Promise<ResultsdbResult[]>;
}

export const DEFAULT_RESULTS_LIMIT = 20;

function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

/** A predicate for one query (everything but paging). */
export function resultMatcher(query: Omit<ResultsQuery, "limit" | "page">): (result: ResultsdbResult) => boolean {
  const anyOf = (values: readonly string[] | undefined, have: readonly string[] | undefined) =>
    values === undefined || values.length === 0 || values.some((v) => have?.includes(v) ?? false);
  const testcases = query.testcases?.map(globRegExp);
  return (r) => {
    if (!anyOf(query.item, r.data["item"]) || !anyOf(query.type, r.data["type"])) return false;
    if (testcases && testcases.length > 0 && !testcases.some((re) => re.test(r.testcase.name))) return false;
    if (query.outcome && query.outcome.length > 0 && !query.outcome.includes(r.outcome)) return false;
    const at = Date.parse(r.submit_time);
    if (query.since && at < query.since.getTime()) return false;
    if (query.until && at > query.until.getTime()) return false;
    for (const [key, values] of Object.entries(query.data ?? {})) if (!anyOf(values, r.data[key])) return false;
    return true;
  };
}

/** Latest result per (test case, scenario): what Greenwave reads. Input latest first. */
export function latestPerTestcase(results: readonly ResultsdbResult[]): ResultsdbResult[] {
  const seen = new Set<string>();
  return results.filter((r) => {
    const key = `${r.testcase.name}\u0000${(r.data["scenario"] ?? []).join(",")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** In one process: for tests and single-replica deployments (results die with the process). */
export class MemoryResultsStore implements ResultsStore {
  private readonly results: ResultsdbResult[] = [];
  private nextId = 1;

  constructor(private readonly now: () => Date = () => new Date()) {}

  submit(input: NewResult): Promise<ResultsdbResult> {
    try {
      const result = ResultsdbResult.parse({ ...input, id: this.nextId, submit_time: this.now().toISOString() });
      this.nextId++;
      this.results.push(result);
      return Promise.resolve(structuredClone(result));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  get(id: number): Promise<ResultsdbResult | undefined> {
    const found = this.results.find((r) => r.id === id);
    return Promise.resolve(found ? structuredClone(found) : undefined);
  }

  query(query: ResultsQuery): Promise<ResultsPage> {
    const limit = Math.max(1, query.limit ?? DEFAULT_RESULTS_LIMIT);
    const page = Math.max(0, query.page ?? 0);
    const matching = this.matching(query);
    return Promise.resolve({ results: matching.slice(page * limit, (page + 1) * limit).map((r) => structuredClone(r)), more: matching.length > (page + 1) * limit });
  }

  latest(query: Omit<ResultsQuery, "limit" | "page">): Promise<ResultsdbResult[]> {
    return Promise.resolve(latestPerTestcase(this.matching(query)).map((r) => structuredClone(r)));
  }

  private matching(query: Omit<ResultsQuery, "limit" | "page">): ResultsdbResult[] {
    const match = resultMatcher(query);
    return this.results.filter(match).reverse();
  }
}
