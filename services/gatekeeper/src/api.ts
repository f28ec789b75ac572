// The gatekeeper's HTTP API: Greenwave's decision endpoint (compose-aware, see Gatekeeper.decide),
// WaiverDB's waiver endpoints, and the rest of Greenwave's API from @atomic-ci/gating.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { DECISION_PATH, gatingRequestListener } from "@atomic-ci/gating";
import { BodyTooLargeError, readBody, sendJson } from "@atomic-ci/http";
import { z } from "zod";
import type { Gatekeeper } from "./gatekeeper.js";

export const WAIVERS_PATH = "/api/v1.0/waivers";

/** WaiverDB's `POST /api/v1.0/waivers` fields (`waived` defaults to true, as in WaiverDB). */
export const WaiverRequest = z.strictObject({
  subject_type: z.string().min(1),
  subject_identifier: z.string().min(1),
  testcase: z.string().min(1),
  product_version: z.string().min(1),
  waived: z.boolean().default(true),
  comment: z.string().min(1),
  username: z.string().min(1),
  scenario: z.string().min(1).nullable().optional(),
});

/** The body as JSON, or not-ok when it is not JSON (Greenwave answers 400 then). */
async function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const text = await readBody(req);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

async function decision(gatekeeper: Gatekeeper, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  if (!body.ok) return sendJson(res, 400, { message: "No JSON payload in request" });
  let outcome;
  try {
    outcome = await gatekeeper.decide(body.value);
  } catch (err) {
    return sendJson(res, 502, { message: err instanceof Error ? err.message : String(err) });
  }
  if (!outcome.ok) return sendJson(res, outcome.error.status, { message: outcome.error.message });
  sendJson(res, 200, outcome.decision);
}

async function waivers(gatekeeper: Gatekeeper, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === "GET") return sendJson(res, 200, { data: (await gatekeeper.stores.waivers.all()).reverse() });
  const body = await readJson(req);
  if (!body.ok) return sendJson(res, 400, { message: "No JSON payload in request" });
  const parsed = WaiverRequest.safeParse(body.value);
  if (!parsed.success) {
    return sendJson(res, 400, { message: parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`).join("; ") });
  }
  sendJson(res, 201, await gatekeeper.submitWaiver(parsed.data));
}

async function route(gatekeeper: Gatekeeper, fallback: ReturnType<typeof gatingRequestListener>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (path === WAIVERS_PATH) {
    if (req.method !== "GET" && req.method !== "POST") {
      res.setHeader("allow", "GET, POST");
      return sendJson(res, 405, { message: "Method Not Allowed" });
    }
    return waivers(gatekeeper, req, res);
  }
  if (path === DECISION_PATH && req.method === "POST") return decision(gatekeeper, req, res);
  // validate-gating-yaml, wrong methods and unknown paths: Greenwave's answers from the library.
  fallback(req, res);
}

/** A node:http server for the gatekeeper's API (not yet listening). */
export function createApiServer(gatekeeper: Gatekeeper): Server {
  const fallback = gatingRequestListener(gatekeeper.ports());
  return createServer((req, res) => {
    route(gatekeeper, fallback, req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof BodyTooLargeError) sendJson(res, 413, { message: err.message });
      else sendJson(res, 500, { message: "Internal Server Error" });
    });
  });
}
