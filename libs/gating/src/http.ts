import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { BodyTooLargeError, readBody, sendJson } from "@atomic-ci/http";
import { decide } from "./decide.js";
import { validateGatingYaml } from "./policy.js";
import type { DecisionPorts } from "./ports.js";

export const DECISION_PATH = "/api/v1.0/decision";
export const VALIDATE_PATH = "/api/v1.0/validate-gating-yaml";

async function route(ports: DecisionPorts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (path !== DECISION_PATH && path !== VALIDATE_PATH) return sendJson(res, 404, { message: "Not Found" });
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return sendJson(res, 405, { message: "Method Not Allowed" });
  }
  const text = await readBody(req);
  if (path === VALIDATE_PATH) {
    // Greenwave takes the gating.yaml itself as the request body.
    const result = validateGatingYaml(text);
    return result.ok ? sendJson(res, 200, { message: "All OK" }) : sendJson(res, 400, { message: result.errors.join("\n"), errors: result.errors });
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    return sendJson(res, 400, { message: "No JSON payload in request" });
  }
  let outcome;
  try {
    outcome = await decide(body, ports);
  } catch (err: unknown) {
    // ResultsDB, WaiverDB or the group lookup failed: Greenwave answers 502 Bad Gateway.
    return sendJson(res, 502, { message: err instanceof Error ? err.message : String(err) });
  }
  if (!outcome.ok) return sendJson(res, outcome.error.status, { message: outcome.error.message });
  sendJson(res, 200, outcome.decision);
}

/** A node:http listener serving Greenwave's decision and gating.yaml validation endpoints. */
export function gatingRequestListener(ports: DecisionPorts): RequestListener {
  return (req, res) => {
    route(ports, req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof BodyTooLargeError) sendJson(res, 413, { message: err.message });
      else sendJson(res, 500, { message: "Internal Server Error" });
    });
  };
}
