// The node:http pieces our small servers share (health, the results API, Greenwave's API, the
// gatekeeper's): a handful of fixed routes do not need a framework, but they all need these.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Request bodies are small JSON documents or YAML files; anything bigger is refused. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A request body over the limit (answer 413). */
export class BodyTooLargeError extends Error {
  readonly code = "BODY_TOO_LARGE";
  constructor(limit: number) {
    super(`request body too large (limit ${limit} bytes)`);
    this.name = "BodyTooLargeError";
  }
}

/** Reply with `body` as JSON (with its length, so keep-alive clients need no chunking). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** The request body as text; throws BodyTooLargeError past `maxBytes` without reading the rest. */
export async function readBody(req: IncomingMessage, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Listen on host:port; resolves with the bound port (the real one for port 0). */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stop listening. `connections: "idle"` lets requests in progress finish (idle keep-alive
 * connections go at once); `"all"` drops every connection.
 */
export function closeServer(server: Server, connections: "idle" | "all" = "idle"): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    if (connections === "all") server.closeAllConnections();
    else server.closeIdleConnections();
  });
}
