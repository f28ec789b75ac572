import { AmqpTransport, Bus, MemoryIdempotencyStore, resolveAmqpOptions } from "@atomic-ci/bus";
import { defaultRegistry } from "@atomic-ci/messages";
import { createMetrics, redactUrl, silentLogger } from "@atomic-ci/telemetry";
import { EXIT } from "../errors.js";
import { readMessageFile } from "../io.js";

export interface PublishArgs {
  file: string;
  topic: string;
  prefix?: string;
  amqpUrl: string;
  severity?: number;
}

/**
 * `messages publish`: validate FILE's body against the topic's schema and publish it in the
 * fedora-messaging wire format, waiting for the broker's confirm. The message gets a fresh
 * UUID v4 id, like any fedora-messaging publish.
 */
export async function publishCommand(args: PublishArgs): Promise<number> {
  const doc = await readMessageFile(args.file, args.topic);
  const transport = new AmqpTransport(resolveAmqpOptions({ url: args.amqpUrl, clientProperties: { connection_name: "atomic-ci messages publish" } }));
  const bus = new Bus(
    { transport, registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics: createMetrics(), logger: silentLogger() },
    { topicPrefix: args.prefix ?? "" },
  );
  try {
    await bus.connect();
    const published = await bus.publish(args.topic, doc.body, args.severity !== undefined ? { severity: args.severity as 10 | 20 | 30 | 40 } : {});
    process.stdout.write(`published ${published.id} to ${published.routingKey} (${published.schema}) on ${redactUrl(args.amqpUrl)}\n`);
    return EXIT.ok;
  } finally {
    await bus.close();
  }
}
