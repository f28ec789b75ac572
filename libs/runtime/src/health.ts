import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listen, sendJson } from "@atomic-ci/http";
import type { Logger, Metrics } from "@atomic-ci/telemetry";

/** The counters /ready reports, as fedora-messaging's monitor does (summed over labels). */
export const READY_COUNTERS = ["received", "processed", "requeued", "dropped", "rejected", "failed"] as const;
export type ReadyCounters = Record<(typeof READY_COUNTERS)[number], number>;

export interface ReadyState {
  /** /ready answers 200 only when this is true. */
  ready: boolean;
  /** Every consumer consuming and the transport connected. */
  consuming: boolean;
}

export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port; see `port` once started. */
  port: number;
  metrics: Metrics;
  state(): ReadyState;
  logger?: Logger;
}

export async function readyCounters(metrics: Metrics): Promise<ReadyCounters> {
  const entries = await Promise.all(
    READY_COUNTERS.map(async (name) => {
      const { values } = await metrics[name].get();
      return [name, values.reduce((sum, v) => sum + v.value, 0)] as const;
    }),
  );
  return Object.fromEntries(entries) as ReadyCounters;
}

/** Probes must never see a cached answer. */
const NO_STORE = { "cache-control": "no-store" };

/**
 * `/live`, `/ready` and `/metrics` for OpenShift probes and Prometheus, on plain node:http:
 * three fixed routes do not need a framework.
 */
export class HealthServer {
  private readonly server: Server;
  private boundPort: number | undefined;

  constructor(private readonly options: HealthServerOptions) {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        options.logger?.error({ err, url: req.url }, "health endpoint failed");
        if (!res.headersSent) sendJson(res, 500, { status: "ERROR" }, NO_STORE);
        else res.destroy();
      });
    });
  }

  /** The bound port (the real one when configured with 0). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error("health server is not listening");
    return this.boundPort;
  }

  async start(): Promise<number> {
    this.boundPort = await listen(this.server, this.options.host, this.options.port);
    return this.boundPort;
  }

  /** Stop listening and close connections (idle keep-alive ones at once). */
  close(): Promise<void> {
    return closeServer(this.server, "idle");
  }

  /** For a shutdown that ran out of time: drop every connection, busy or not. */
  forceClose(): void {
    this.server.closeAllConnections();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/live" && path !== "/ready" && path !== "/metrics") {
      sendJson(res, 404, { status: "NOT_FOUND" }, NO_STORE);
      return;
    }
    if (req.method !== "GET") {
      res.setHeader("allow", "GET");
      sendJson(res, 405, { status: "METHOD_NOT_ALLOWED" }, NO_STORE);
      return;
    }
    if (path === "/live") {
      sendJson(res, 200, { status: "OK" }, NO_STORE);
    } else if (path === "/ready") {
      const state = this.options.state();
      const counters = await readyCounters(this.options.metrics);
      sendJson(res, state.ready ? 200 : 503, { status: state.ready ? "OK" : "UNAVAILABLE", consuming: state.consuming, ...counters }, NO_STORE);
    } else {
      const registry = this.options.metrics.registry;
      const text = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(text);
    }
  }
}
