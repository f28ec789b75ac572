// Results in Redis, for restarts and for the gatekeeper reading while the runner writes. The
// same semantics as MemoryResultsStore (the shared contract test runs against both): ids from
// INCR (monotonic across processes), results immutable, queries filtered with the same
// `resultMatcher` after an index narrowed the candidates.
//
// Keys under `<prefix>`:
//   next               INCR counter of result ids
//   result             hash: id → the result as JSON
//   all                sorted set of every id (score = id)
//   item:<value>       sorted set of the ids whose data.item has the value
//   testcase:<name>    sorted set of the ids of a test case
// Results are never removed (ResultsDB keeps history too); plans (plans.ts) live beside them.
import { RedisLink } from "@atomic-ci/bus";
import type { Redis } from "ioredis";
import { ResultsdbResult } from "@atomic-ci/messages";
import { DEFAULT_RESULTS_LIMIT, latestPerTestcase, resultMatcher, type NewResult, type ResultsPage, type ResultsQuery, type ResultsStore } from "./store.js";

export const DEFAULT_RESULTS_PREFIX = "atomic-ci:results";

export interface RedisResultsStoreOptions {
  /** Use this client (never closed here), or … */
  client?: Redis;
  /** … connect to this URL (owned, quit on close). */
  url?: string;
  /** Default `atomic-ci:results`. */
  prefix?: string;
  now?: () => Date;
  onError?: (err: Error) => void;
}

/** Ids scanned per round trip while filtering. */
const CHUNK = 500;

export class RedisResultsStore implements ResultsStore {
  readonly prefix: string;
  private readonly link: RedisLink;
  private readonly now: () => Date;

  constructor(options: RedisResultsStoreOptions) {
    this.link = new RedisLink(options, "RedisResultsStore");
    this.prefix = options.prefix ?? DEFAULT_RESULTS_PREFIX;
    this.now = options.now ?? (() => new Date());
  }

  get client(): Redis {
    return this.link.client;
  }

  connect(): Promise<void> {
    return this.link.connect();
  }

  close(): Promise<void> {
    return this.link.close();
  }

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(":");
  }

  async submit(input: NewResult): Promise<ResultsdbResult> {
    // Validate with a placeholder id first: a rejected result must not take an id.
    const submitTime = this.now().toISOString();
    ResultsdbResult.parse({ ...input, id: 1, submit_time: submitTime });
    const id = await this.client.incr(this.key("next"));
    const result = ResultsdbResult.parse({ ...input, id, submit_time: submitTime });
    const multi = this.client.multi().hset(this.key("result"), String(id), JSON.stringify(result)).zadd(this.key("all"), id, String(id));
    for (const item of new Set(result.data["item"] ?? [])) multi.zadd(this.key("item", item), id, String(id));
    multi.zadd(this.key("testcase", result.testcase.name), id, String(id));
    const replies = await multi.exec();
    const failed = replies?.find(([err]) => err !== null);
    if (!replies || failed) throw new Error(`storing result ${id} failed: ${failed?.[0]?.message ?? "transaction aborted"}`);
    return result;
  }

  async get(id: number): Promise<ResultsdbResult | undefined> {
    const text = await this.client.hget(this.key("result"), String(id));
    return text === null ? undefined : this.parse(text, id);
  }

  async query(query: ResultsQuery): Promise<ResultsPage> {
    const limit = Math.max(1, query.limit ?? DEFAULT_RESULTS_LIMIT);
    const page = Math.max(0, query.page ?? 0);
    // One more than the page needs says whether there are more.
    const found = await this.scan(query, (page + 1) * limit + 1);
    return { results: found.slice(page * limit, (page + 1) * limit), more: found.length > (page + 1) * limit };
  }

  async latest(query: Omit<ResultsQuery, "limit" | "page">): Promise<ResultsdbResult[]> {
    return latestPerTestcase(await this.scan(query, Number.POSITIVE_INFINITY));
  }

  /**
   * Matching results, latest first, at most `want`. Candidates come from the narrowest index
   * the query allows (its items, else its exact test case names, else every id); each is
   * then checked with the memory store's matcher, so both stores answer alike.
   */
  private async scan(query: Omit<ResultsQuery, "limit" | "page">, want: number): Promise<ResultsdbResult[]> {
    const match = resultMatcher(query);
    const out: ResultsdbResult[] = [];
    const candidates = await this.candidates(query);
    const take = async (ids: string[]): Promise<void> => {
      if (ids.length === 0) return;
      const texts = await this.client.hmget(this.key("result"), ...ids);
      for (const [i, text] of texts.entries()) {
        if (text === null || out.length >= want) continue;
        const result = this.parse(text, Number(ids[i]));
        if (match(result)) out.push(result);
      }
    };
    if (candidates) {
      for (let i = 0; i < candidates.length && out.length < want; i += CHUNK) await take(candidates.slice(i, i + CHUNK).map(String));
      return out;
    }
    for (let start = 0; out.length < want; start += CHUNK) {
      const ids = await this.client.zrevrange(this.key("all"), start, start + CHUNK - 1);
      await take(ids);
      if (ids.length < CHUNK) break;
    }
    return out;
  }

  /** Ids (latest first) from the item or test case indexes; undefined: scan everything. */
  private async candidates(query: Omit<ResultsQuery, "limit" | "page">): Promise<number[] | undefined> {
    let keys: string[] | undefined;
    if (query.item && query.item.length > 0) keys = query.item.map((i) => this.key("item", i));
    else if (query.testcases && query.testcases.length > 0 && query.testcases.every((t) => !t.includes("*"))) keys = query.testcases.map((t) => this.key("testcase", t));
    if (!keys) return undefined;
    const ids = new Set<number>();
    for (const key of keys) for (const id of await this.client.zrange(key, 0, -1)) ids.add(Number(id));
    return [...ids].sort((a, b) => b - a);
  }

  private parse(text: string, id: number): ResultsdbResult {
    try {
      return ResultsdbResult.parse(JSON.parse(text));
    } catch (err) {
      throw new Error(`${this.key("result")} ${id}: not a stored result: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}
