// A private queue on the broker for commands that watch what the services say (`request
// --wait`): exclusive and auto-delete, so it goes with the command, and bound before the command
// publishes anything, so no answer can be missed.
import { decodeMessage, type WireProperties } from "@atomic-ci/bus";
import { defaultRegistry } from "@atomic-ci/messages";
import amqp from "amqplib";

/** amqplib's message properties as the bus's envelope decoder reads them. */
export function toProperties(p: amqp.MessageProperties): WireProperties {
  const props: WireProperties = { headers: p.headers ?? {} };
  if (typeof p.contentType === "string") props.contentType = p.contentType;
  if (typeof p.contentEncoding === "string") props.contentEncoding = p.contentEncoding;
  if (typeof p.messageId === "string") props.messageId = p.messageId;
  return props;
}

export interface WatchedMessage {
  /** The routing key, prefix included. */
  topic: string;
  id: string;
  headers: Record<string, unknown>;
  body: unknown;
}

/** The broker connection went away while watching. */
export class WatchClosedError extends Error {
  readonly code = "WATCH_CLOSED";
  constructor(message: string) {
    super(message);
    this.name = "WatchClosedError";
  }
}

export interface BusWatch {
  /** The next valid message, or undefined when `timeoutMs` passed first; rejects once the connection is lost. */
  next(timeoutMs: number): Promise<WatchedMessage | undefined>;
  close(): Promise<void>;
}

/**
 * Open the queue, bind it to `bindings` on `exchange` and start consuming. Messages that fail
 * their schema are dropped: the services' consumers dead-letter them, they tell nothing here.
 */
export async function openBusWatch(url: string, options: { exchange: string; bindings: readonly string[]; connectionName: string; maxBodyBytes?: number }): Promise<BusWatch> {
  const connection = await amqp.connect(url, { clientProperties: { connection_name: options.connectionName } });
  const buffered: WatchedMessage[] = [];
  let waiter: (() => void) | undefined;
  let lost: Error | undefined;
  let closing = false;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  connection.on("error", (err: unknown) => {
    lost = new WatchClosedError(`lost the broker connection: ${err instanceof Error ? err.message : String(err)}`);
  });
  connection.on("close", () => {
    if (!closing) lost ??= new WatchClosedError("the broker closed the connection");
    wake();
  });
  try {
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
    for (const key of options.bindings) await channel.bindQueue(queue, options.exchange, key);
    await channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const decoded = decodeMessage(
          { routingKey: msg.fields.routingKey, body: msg.content, properties: toProperties(msg.properties) },
          { registry: defaultRegistry, maxBodyBytes: options.maxBodyBytes ?? 4 * 1024 * 1024 },
        );
        if (decoded.ok) buffered.push({ topic: msg.fields.routingKey, id: decoded.message.id, headers: decoded.message.headers, body: decoded.message.body });
        wake();
      },
      { noAck: true },
    );
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
  return {
    async next(timeoutMs: number): Promise<WatchedMessage | undefined> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = buffered.shift();
        if (m) return m;
        if (lost) throw lost;
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    async close(): Promise<void> {
      closing = true;
      await connection.close().catch(() => undefined);
    },
  };
}
