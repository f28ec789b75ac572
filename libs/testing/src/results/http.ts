// The ResultsDB API v2 subset the gatekeeper and people read, on plain node:http:
//   GET /api/v2.0/results?item=&type=&testcases=&outcome=&since=&limit=&page=&<data key>=
//   GET /api/v2.0/results/latest?(same filters, no paging)
//   GET /api/v2.0/results/<id>
// List responses are `{data: [...], next, prev}` (next/prev: URLs or null), as ResultsDB's.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listen, sendJson } from "@atomic-ci/http";
import { RESULTSDB_OUTCOMES, type ResultsdbOutcome } from "@atomic-ci/messages";
import { handleRerunRequest, type RerunHandler } from "./reruns.js";
import { DEFAULT_RESULTS_LIMIT, type ResultsQuery, type ResultsStore } from "./store.js";

export const RESULTS_PATH = "/api/v2.0/results";
/** ResultsDB caps a page too. */
export const MAX_RESULTS_LIMIT = 1000;
const RESERVED = new Set(["item", "type", "testcases", "outcome", "since", "limit", "page", "_sort", "callback"]);

class BadRequest extends Error {}

/** Results change with every run: no cache may keep an answer. */
const NO_STORE = { "cache-control": "no-store" };

/** ResultsDB's comma lists: `item=a,b` and `item=a&item=b` alike. */
function list(params: URLSearchParams, key: string): string[] | undefined {
  const values = params.getAll(key).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v.length > 0);
  return values.length > 0 ? values : undefined;
}

function parseTime(text: string, what: string): Date {
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new BadRequest(`${what}: not a date: ${text}`);
  return at;
}

function parseInt10(text: string | null, what: string, min: number, fallback: number): number {
  if (text === null) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) throw new BadRequest(`${what}: must be an integer >= ${min}`);
  return Number(text);
}

/** The query of a `/results` request; throws BadRequest on a malformed parameter. */
export function parseResultsQuery(params: URLSearchParams): ResultsQuery {
  const query: ResultsQuery = {};
  const item = list(params, "item");
  if (item) query.item = item;
  const type = list(params, "type");
  if (type) query.type = type;
  const testcases = list(params, "testcases");
  if (testcases) query.testcases = testcases;
  const outcome = list(params, "outcome")?.map((o) => o.toUpperCase());
  if (outcome) {
    const bad = outcome.filter((o) => !(RESULTSDB_OUTCOMES as readonly string[]).includes(o));
    if (bad.length > 0) throw new BadRequest(`outcome: unknown ${bad.join(", ")}`);
    query.outcome = outcome as ResultsdbOutcome[];
  }
  const since = params.get("since");
  if (since !== null) {
    // ResultsDB: `since=START` or `since=START,END`.
    const [start = "", end] = since.split(",");
    query.since = parseTime(start, "since");
    if (end !== undefined) query.until = parseTime(end, "since");
  }
  query.limit = Math.min(parseInt10(params.get("limit"), "limit", 1, DEFAULT_RESULTS_LIMIT), MAX_RESULTS_LIMIT);
  query.page = parseInt10(params.get("page"), "page", 0, 0);
  const data: Record<string, string[]> = {};
  for (const key of new Set(params.keys())) {
    if (RESERVED.has(key)) continue;
    const values = list(params, key);
    if (values) data[key] = values;
  }
  if (Object.keys(data).length > 0) query.data = data;
  return query;
}

/** Route a request; false when the path is not the results API (the caller answers 404). */
export async function handleResultsRequest(store: ResultsStore, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = url.pathname.replace(/\/+$/, "");
  if (path !== RESULTS_PATH && !path.startsWith(`${RESULTS_PATH}/`)) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    sendJson(res, 405, { message: "Method not allowed" }, NO_STORE);
    return true;
  }
  try {
    const rest = path.slice(RESULTS_PATH.length + 1);
    if (rest === "") {
      const query = parseResultsQuery(url.searchParams);
      const page = await store.query(query);
      const at = (n: number) => {
        const next = new URL(url.toString());
        next.searchParams.set("page", String(n));
        return `${url.pathname}?${next.searchParams.toString()}`;
      };
      const current = query.page ?? 0;
      sendJson(res, 200, { data: page.results, next: page.more ? at(current + 1) : null, prev: current > 0 ? at(current - 1) : null }, NO_STORE);
    } else if (rest === "latest") {
      const { limit: _limit, page: _page, ...filters } = parseResultsQuery(url.searchParams);
      sendJson(res, 200, { data: await store.latest(filters) }, NO_STORE);
    } else if (/^\d+$/.test(rest)) {
      const result = await store.get(Number(rest));
      if (result) sendJson(res, 200, result, NO_STORE);
      else sendJson(res, 404, { message: "Result not found" }, NO_STORE);
    } else {
      sendJson(res, 404, { message: "Not found" }, NO_STORE);
    }
  } catch (err) {
    if (err instanceof BadRequest) sendJson(res, 400, { message: err.message }, NO_STORE);
    else throw err;
  }
  return true;
}

export interface ResultsServerOptions {
  host: string;
  /** 0 picks a free port; see `port` once started. */
  port: number;
  onError?: (err: unknown, url: string | undefined) => void;
  /** Serve `/api/v2.0/reruns` too (reruns.ts); set it before or after start. */
  reruns?: RerunHandler;
}

/** A small HTTP server serving only the results API. */
export class ResultsServer {
  private readonly server: Server;
  private boundPort: number | undefined;
  /** Who runs tests again on request; without it `/api/v2.0/reruns` is a 404. */
  reruns: RerunHandler | undefined;

  constructor(
    private readonly store: ResultsStore,
    private readonly options: ResultsServerOptions,
  ) {
    this.reruns = options.reruns;
    this.server = createServer((req, res) => {
      const reruns = this.reruns;
      (reruns ? handleRerunRequest(reruns, req, res) : Promise.resolve(false))
        .then(async (handled) => handled || handleResultsRequest(this.store, req, res))
        .then((handled) => {
          if (!handled) sendJson(res, 404, { message: "Not found" }, NO_STORE);
        })
        .catch((err: unknown) => {
          options.onError?.(err, req.url);
          if (!res.headersSent) sendJson(res, 500, { message: "Internal error" }, NO_STORE);
          else res.destroy();
        });
    });
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("results server is not listening");
    return this.boundPort;
  }

  async start(): Promise<number> {
    this.boundPort = await listen(this.server, this.options.host, this.options.port);
    return this.boundPort;
  }

  close(): Promise<void> {
    return closeServer(this.server, "all");
  }
}
