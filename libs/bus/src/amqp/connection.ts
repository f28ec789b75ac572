import { connect, type ChannelModel } from "amqplib";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import type { Writable } from "node:stream";
import { BusError, errorMessage } from "../errors.js";
import { coalesceWrites } from "./coalesce.js";
import type { TransportEvents } from "../transport.js";
import { reconnectDelay, type ResolvedAmqpOptions } from "./options.js";

export interface ConnectionDeps {
  logger?: Logger | undefined;
  metrics?: Metrics | undefined;
  events?: TransportEvents | undefined;
}

/** Run after every (re)connection: open channels, re-declare topology, re-consume. */
export type UpHook = (model: ChannelModel) => Promise<void>;

/**
 * Topology hooks (consumers) run before publish hooks: a publish that waited out the outage
 * may be meant for our own consumer's queue, which must be bound again before it is sent.
 */
export type HookPhase = "topology" | "publish";

/**
 * Owns the one AMQP connection of a transport. The first `connect()` makes one attempt and
 * reports failure to the caller; once connected, any loss is repaired by itself: back off,
 * reconnect, then run every up hook (publisher channel, each consumer's topology).
 */
export class AmqpConnectionManager {
  /** The open connection, from the handshake on. */
  private model: ChannelModel | undefined;
  /** False until the up hooks ran: until then publishes wait, so topology comes first. */
  private ready = false;
  private connecting: Promise<ChannelModel> | undefined;
  private everConnected = false;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly hooks = { topology: new Set<UpHook>(), publish: new Set<UpHook>() };

  constructor(
    readonly options: ResolvedAmqpOptions,
    private readonly deps: ConnectionDeps = {},
  ) {}

  /** The live connection once its topology is restored, if any. */
  current(): ChannelModel | undefined {
    return this.ready ? this.model : undefined;
  }

  isConnected(): boolean {
    return this.ready && this.model !== undefined;
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Register a hook run after every later (re)connection, before the connection counts as up. */
  onUp(phase: HookPhase, hook: UpHook): () => void {
    this.hooks[phase].add(hook);
    return () => this.hooks[phase].delete(hook);
  }

  /** Connect once if never connected; resolves at once while a reconnect loop is running. */
  async connect(): Promise<void> {
    if (this.closed) throw new BusError("CLOSED", "AMQP transport is closed");
    if (this.model || this.everConnected) return;
    await this.attempt();
  }

  private attempt(): Promise<ChannelModel> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<ChannelModel> {
    const { options } = this;
    const log = this.deps.logger;
    let model: ChannelModel;
    try {
      model = await connect(options.connect, options.socket);
    } catch (err) {
      this.deps.metrics?.connections.inc({ transport: "amqp", result: "failure" });
      // amqplib's errors name host and port, never the password.
      throw new BusError("CONNECTION", `cannot connect to ${options.redactedUrl}: ${errorMessage(err)}`, { cause: err });
    }
    if (this.closed) {
      await model.close().catch(() => undefined);
      throw new BusError("CLOSED", "AMQP transport closed while connecting");
    }
    // amqplib keeps its socket as `connection.stream` (not in its typings).
    coalesceWrites((model.connection as unknown as { stream: Writable }).stream);
    this.deps.metrics?.connections.inc({ transport: "amqp", result: "success" });
    const attempt = this.failures + 1;
    this.failures = 0;
    this.everConnected = true;
    this.model = model;
    model.on("error", (err: unknown) => log?.warn({ err: errorMessage(err), url: options.redactedUrl }, "AMQP connection error"));
    model.on("blocked", (reason: unknown) => log?.warn({ reason }, "AMQP connection blocked by the broker (resource alarm); publishes wait"));
    model.on("unblocked", () => log?.info("AMQP connection unblocked"));
    model.once("close", (err: unknown) => this.lost(model, err));
    log?.info({ url: options.redactedUrl, attempt }, "AMQP connected");
    this.deps.events?.onConnected?.({ attempt });
    await this.runHooks(model);
    if (this.model === model) this.ready = true;
    return model;
  }

  private async runHooks(model: ChannelModel): Promise<void> {
    // Hooks handle their own failures (they retry); one failing must not stop the others.
    for (const phase of ["topology", "publish"] as const) {
      await Promise.all(
        [...this.hooks[phase]].map((hook) =>
          hook(model).catch((err: unknown) => this.deps.logger?.error({ err: errorMessage(err), phase }, "AMQP reconnect hook failed")),
        ),
      );
    }
  }

  private lost(model: ChannelModel, err: unknown): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.ready = false;
    if (this.closed) return;
    this.deps.metrics?.connections.inc({ transport: "amqp", result: "lost" });
    this.deps.logger?.warn({ err: err === undefined ? undefined : errorMessage(err), url: this.options.redactedUrl }, "AMQP connection lost; reconnecting");
    this.deps.events?.onDisconnected?.({ error: err });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    this.failures += 1;
    const delay = reconnectDelay(this.options.reconnect, this.failures);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt().then(
        // Lost again while its hooks ran (the attempt may even be that older one): go on.
        (model) => {
          if (this.model !== model) this.scheduleReconnect();
        },
        (err: unknown) => {
          this.deps.logger?.warn({ err: errorMessage(err), retry: this.failures }, "AMQP reconnect failed");
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  /** No more reconnections (the live connection stays open until `close()`). */
  stopReconnecting(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stop reconnecting and close the connection (channels close with it). */
  async close(): Promise<void> {
    this.stopReconnecting();
    await this.connecting?.catch(() => undefined);
    const model = this.model;
    this.model = undefined;
    this.ready = false;
    if (model) await model.close().catch(() => undefined);
  }
}
