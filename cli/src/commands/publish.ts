import { redactUrl } from "@atomic-ci/telemetry";
import { withAmqpBus } from "../amqp-bus.js";
import { EXIT } from "../errors.js";
import { printJson, readMessageFile } from "../io.js";

export interface PublishArgs {
  file: string;
  topic: string;
  prefix?: string;
  amqpUrl: string;
  severity?: number;
  /** Print `{id, routing_key, schema, broker}` as JSON instead of a sentence. */
  json?: boolean;
}

/**
 * `messages publish`: validate FILE's body against the topic's schema and publish it in the
 * fedora-messaging wire format, waiting for the broker's confirm. The message gets a fresh
 * UUID v4 id, like any fedora-messaging publish.
 */
export async function publishCommand(args: PublishArgs): Promise<number> {
  const doc = await readMessageFile(args.file, args.topic);
  const published = await withAmqpBus(args.amqpUrl, { prefix: args.prefix ?? "", connectionName: "atomic-ci messages publish" }, (bus) =>
    bus.publish(args.topic, doc.body, args.severity !== undefined ? { severity: args.severity as 10 | 20 | 30 | 40 } : {}),
  );
  if (args.json) printJson({ id: published.id, routing_key: published.routingKey, schema: published.schema, broker: redactUrl(args.amqpUrl) });
  else process.stdout.write(`published ${published.id} to ${published.routingKey} (${published.schema}) on ${redactUrl(args.amqpUrl)}\n`);
  return EXIT.ok;
}
