// Re-running one test on request, over HTTP beside the results (Fedora CI's `trigger_rebuild`):
//   POST /api/v2.0/reruns   {compose, testcase, reason?, requested_by?} (or the same as query
//                           parameters: a `run.trigger_rebuild` URL is POSTed as it is)
//        → 202 {compose_id, commit, testcase, result: <the QUEUED result>}; 404 unknown
//          compose or test; 400 malformed
//   GET  /api/v2.0/reruns?compose=&testcase=  (`run.rebuild`): what a POST would run and the
//        test's latest result there, without running anything
// The runner decides what a compose and a test are (RerunHandler); this file only speaks HTTP.
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLargeError, readBody, sendJson } from "@atomic-ci/http";
import { z } from "zod";
import type { ResultsdbResult } from "./store.js";

export const RERUNS_PATH = "/api/v2.0/reruns";

export const RerunRequestBody = z.strictObject({
  compose: z.string().regex(/^([0-9a-f]{64}|[A-Za-z0-9][A-Za-z0-9._:-]{0,199})$/, "must be an OSTree commit (64 hex) or a compose id").describe("The OSTree commit or the compose id the test ran on"),
  testcase: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/, "must be a dotted test case name").describe("The test's ResultsDB test case name"),
  reason: z.string().min(1).max(500).optional().describe("Why (free text); default `re-run on request`"),
  requested_by: z.string().regex(/^[A-Za-z0-9._@-]{1,100}$/).optional().describe("Who asked; default `api`"),
});
export type RerunRequestBody = z.output<typeof RerunRequestBody>;

export interface RerunRequest {
  compose: string;
  testcase: string;
  reason: string;
  requestedBy: string;
}

export interface RerunTarget {
  compose_id: string;
  commit: string;
  testcase: string;
}

export interface RerunHandler {
  /** What the request would run (and the latest result there); throws RerunRejected. */
  describeRerun(compose: string, testcase: string): Promise<RerunTarget & { latest: ResultsdbResult | null }>;
  /** Queue the run (the QUEUED result is stored before this returns) and run it later. */
  requestRerun(request: RerunRequest): Promise<RerunTarget & { result: ResultsdbResult }>;
}

/** A request the runner cannot honour: unknown compose or test (404), or nothing to re-run there (409). */
export class RerunRejected extends Error {
  constructor(
    readonly code: "UNKNOWN_COMPOSE" | "UNKNOWN_TEST" | "NOT_RERUNNABLE",
    message: string,
  ) {
    super(message);
    this.name = "RerunRejected";
  }

  get status(): number {
    return this.code === "NOT_RERUNNABLE" ? 409 : 404;
  }
}

const NO_STORE = { "cache-control": "no-store" };

function fromQuery(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ["compose", "testcase", "reason", "requested_by"]) {
    const value = params.get(key);
    if (value !== null) out[key] = value;
  }
  return out;
}

function problems(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
}

/** Route a reruns request; false when the path is not ours. */
export async function handleRerunRequest(handler: RerunHandler, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname.replace(/\/+$/, "") !== RERUNS_PATH) return false;
  try {
    if (req.method === "GET" || req.method === "HEAD") {
      const parsed = RerunRequestBody.pick({ compose: true, testcase: true }).safeParse(fromQuery(url.searchParams));
      if (!parsed.success) {
        sendJson(res, 400, { message: problems(parsed.error) }, NO_STORE);
        return true;
      }
      const target = await handler.describeRerun(parsed.data.compose, parsed.data.testcase);
      sendJson(res, 200, { ...target, how: `POST ${RERUNS_PATH} with this compose and testcase runs the test again` }, NO_STORE);
      return true;
    }
    if (req.method !== "POST") {
      res.setHeader("allow", "GET, HEAD, POST");
      sendJson(res, 405, { message: "Method not allowed" }, NO_STORE);
      return true;
    }
    const text = (await readBody(req, 16 * 1024)).trim();
    let body: unknown = {};
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        sendJson(res, 400, { message: "body: not JSON" }, NO_STORE);
        return true;
      }
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      sendJson(res, 400, { message: "body: must be a JSON object" }, NO_STORE);
      return true;
    }
    // A `run.trigger_rebuild` URL carries the test in its query; a JSON body may add or override.
    const merged = { ...fromQuery(url.searchParams), ...(body as Record<string, unknown>) };
    const parsed = RerunRequestBody.safeParse(merged);
    if (!parsed.success) {
      sendJson(res, 400, { message: problems(parsed.error) }, NO_STORE);
      return true;
    }
    const accepted = await handler.requestRerun({ compose: parsed.data.compose, testcase: parsed.data.testcase, reason: parsed.data.reason ?? "re-run on request", requestedBy: parsed.data.requested_by ?? "api" });
    sendJson(res, 202, accepted, NO_STORE);
  } catch (err) {
    if (err instanceof RerunRejected) sendJson(res, err.status, { message: err.message, code: err.code }, NO_STORE);
    else if (err instanceof BodyTooLargeError) sendJson(res, 413, { message: err.message }, NO_STORE);
    else throw err;
  }
  return true;
}
