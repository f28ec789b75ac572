import { decodeMessage } from "@atomic-ci/bus";
import { defaultRegistry } from "@atomic-ci/messages";
import amqp from "amqplib";
import { toProperties } from "../bus-watch.js";
import { EXIT } from "../errors.js";
import { printJson } from "../io.js";

export interface TailArgs {
  bindings: string[];
  count?: number;
  exchange: string;
  amqpUrl: string;
  maxBodyBytes: number;
}

/**
 * `messages tail`: a temporary (exclusive, auto-delete) queue bound to the exchange with the
 * given keys; each message printed as one JSON line `{topic, id, headers, body}`. Messages
 * that fail their schema are still printed, with `invalid` giving the reason.
 */
export async function tailCommand(args: TailArgs, signal?: AbortSignal): Promise<number> {
  const connection = await amqp.connect(args.amqpUrl, { clientProperties: { connection_name: "atomic-ci messages tail" } });
  const channel = await connection.createChannel();
  let seen = 0;
  try {
    const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
    for (const key of args.bindings) await channel.bindQueue(queue, args.exchange, key);
    await channel.prefetch(100);
    process.stderr.write(`tailing ${args.bindings.join(", ")} on ${args.exchange}\n`);
    await new Promise<void>((resolve, reject) => {
      signal?.addEventListener("abort", () => resolve(), { once: true });
      connection.once("close", () => resolve());
      channel
        .consume(queue, (msg) => {
          if (!msg) return resolve();
          if (args.count !== undefined && seen >= args.count) return;
          const wire = { routingKey: msg.fields.routingKey, body: msg.content, properties: toProperties(msg.properties) };
          const decoded = decodeMessage(wire, { registry: defaultRegistry, maxBodyBytes: args.maxBodyBytes });
          if (decoded.ok) {
            const m = decoded.message;
            printJson({ topic: m.topic, id: m.id, schema: m.schema, headers: m.headers, body: m.body });
          } else {
            printJson({ topic: wire.routingKey, id: wire.properties.messageId, headers: wire.properties.headers, body: msg.content.toString("utf8"), invalid: `${decoded.reason}: ${decoded.detail}` });
          }
          channel.ack(msg);
          seen++;
          if (args.count !== undefined && seen >= args.count) resolve();
        })
        .catch(reject);
    });
  } finally {
    await channel.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
  return EXIT.ok;
}
