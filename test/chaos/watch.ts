// Everything the services say on the run's exchange, read from a durable quorum queue of the
// suite's own: it survives the broker's restart (the messages published before it are kept, the
// services publish persistent messages), and the watcher reconnects after it.
import amqp from "amqplib";

export interface Seen {
  /** The topic without its prefix: `pipeline.…`, `resultsdb.…`, `greenwave.…`, `ci.…`. */
  topic: string;
  id: string | undefined;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Watcher {
  readonly seen: Seen[] = [];
  reconnects = 0;
  private connection: amqp.ChannelModel | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly exchange: string,
    readonly queue: string,
  ) {}

  async open(): Promise<void> {
    const connection = await amqp.connect(this.url, { clientProperties: { connection_name: `atomic-ci chaos watcher ${this.queue}` } });
    connection.on("error", () => undefined);
    connection.once("close", () => {
      this.connection = undefined;
      if (!this.closed) void this.reconnect();
    });
    const ch = await connection.createChannel();
    ch.on("error", () => undefined);
    await ch.assertExchange(this.exchange, "topic", { durable: true });
    await ch.assertQueue(this.queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
    await ch.bindQueue(this.queue, this.exchange, "#");
    await ch.prefetch(500);
    await ch.consume(this.queue, (msg) => {
      if (!msg) return;
      let body: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(msg.content.toString("utf8"));
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        // a poison message the suite sent itself: kept with an empty body
      }
      const messageId: unknown = msg.properties.messageId;
      this.seen.push({
        topic: msg.fields.routingKey.replace(/^.*?\.(pipeline|resultsdb|greenwave|ci|buildsys)\./, "$1."),
        id: typeof messageId === "string" ? messageId : undefined,
        body,
        headers: msg.properties.headers ?? {},
        at: Date.now(),
      });
      ch.ack(msg);
    });
    this.connection = connection;
  }

  private async reconnect(): Promise<void> {
    while (!this.closed) {
      await sleep(1_000);
      try {
        await this.open();
        this.reconnects += 1;
        return;
      } catch {
        // the broker is still down
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection?.close().catch(() => undefined);
  }

  of(topic: string): Seen[] {
    return this.seen.filter((m) => m.topic === topic);
  }
}
