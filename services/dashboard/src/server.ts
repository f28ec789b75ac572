// The dashboard's HTTP side on plain node:http: `GET /` (the page), `GET /api/state` (the
// projection as JSON), `GET /events` (Server-Sent Events: the page's content again after each
// change, coalesced over `pushIntervalMs`). Read-only: nothing here changes the pipeline.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listen, sendJson } from "@atomic-ci/http";
import type { Logger } from "@atomic-ci/telemetry";
import type { DashboardState } from "./projection.js";
import { CONTENT_SECURITY_POLICY, renderContent, renderPage } from "./render.js";
import { pageView } from "./view.js";

export interface DashboardServerOptions {
  host: string;
  /** 0 picks a free port; see `port` once started. */
  port: number;
  title: string;
  maxClients: number;
  heartbeatSeconds: number;
  pushIntervalMs: number;
  /** The projection now. */
  state(): DashboardState;
  logger?: Logger;
}

const NO_STORE = { "cache-control": "no-store" };
const SECURITY_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };

export class DashboardServer {
  private readonly server: Server;
  private readonly clients = new Set<ServerResponse>();
  private boundPort: number | undefined;
  private pushTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly options: DashboardServerOptions) {
    this.server = createServer((req, res) => {
      try {
        this.route(req, res);
      } catch (err) {
        options.logger?.error({ err, url: req.url }, "dashboard request failed");
        if (!res.headersSent) sendJson(res, 500, { status: "ERROR" }, NO_STORE);
        else res.destroy();
      }
    });
  }

  get port(): number {
    if (this.boundPort === undefined) throw new Error("dashboard server is not listening");
    return this.boundPort;
  }

  /** Live pages connected now. */
  get clientCount(): number {
    return this.clients.size;
  }

  async start(): Promise<number> {
    this.boundPort = await listen(this.server, this.options.host, this.options.port);
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) res.write(": keep-alive\n\n");
    }, this.options.heartbeatSeconds * 1000);
    this.heartbeat.unref();
    return this.boundPort;
  }

  /** The projection changed: push it to the open pages (at most once per `pushIntervalMs`). */
  changed(): void {
    if (this.pushTimer || this.clients.size === 0 || this.closing) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.push();
    }, this.options.pushIntervalMs);
  }

  /** End the event streams (they would hold the close forever), then stop listening. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pushTimer) clearTimeout(this.pushTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
    await closeServer(this.server, "idle");
  }

  private push(): void {
    const view = pageView(this.options.state());
    const data = JSON.stringify({ seq: view.seq, html: renderContent(view) });
    for (const res of this.clients) res.write(`event: update\nid: ${view.seq}\ndata: ${data}\n\n`);
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const routes: Record<string, () => void> = {
      "/": () => this.page(res),
      "/api/state": () => sendJson(res, 200, this.options.state(), { ...NO_STORE, ...SECURITY_HEADERS }),
      "/events": () => this.events(req, res),
    };
    const handler = routes[path];
    if (!handler) {
      sendJson(res, 404, { status: "NOT_FOUND" }, NO_STORE);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendJson(res, 405, { status: "METHOD_NOT_ALLOWED" }, NO_STORE);
      return;
    }
    handler();
  }

  private page(res: ServerResponse): void {
    const html = renderPage(pageView(this.options.state()), this.options.title);
    res.writeHead(200, {
      ...NO_STORE,
      ...SECURITY_HEADERS,
      "content-type": "text/html; charset=utf-8",
      "content-length": Buffer.byteLength(html),
      "content-security-policy": CONTENT_SECURITY_POLICY,
    });
    res.end(html);
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    if (this.closing || this.clients.size >= this.options.maxClients) {
      sendJson(res, 503, { status: "UNAVAILABLE", reason: "too many live pages" }, { ...NO_STORE, "retry-after": "30" });
      return;
    }
    res.writeHead(200, { ...NO_STORE, ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", connection: "keep-alive", "x-accel-buffering": "no" });
    // A reconnecting page says which version it has; send the current one at once if it is behind.
    const lastSeen = Number(req.headers["last-event-id"] ?? Number.NaN);
    res.write("retry: 2000\n\n");
    this.clients.add(res);
    req.socket.setNoDelay(true);
    const gone = () => this.clients.delete(res);
    req.on("close", gone);
    res.on("error", gone);
    if (Number.isNaN(lastSeen) || lastSeen < this.options.state().seq) {
      const view = pageView(this.options.state());
      res.write(`event: update\nid: ${view.seq}\ndata: ${JSON.stringify({ seq: view.seq, html: renderContent(view) })}\n\n`);
    }
  }
}
