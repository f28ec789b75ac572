import { OPERATOR_REQUEST_TOPIC, PIPELINE_SPEC_VERSION, StreamName, type OperatorRequest } from "@atomic-ci/messages";
import { redactUrl } from "@atomic-ci/telemetry";
import { withAmqpBus } from "../amqp-bus.js";
import { EXIT, UsageError } from "../errors.js";
import { localOperator, printJson } from "../io.js";

/** What `hold`, `unhold` and `rollback` are called with (the action aside). */
export interface ReleaseRequestOptions {
  stream: string;
  /** rollback only: the release to go back to. */
  to?: string;
  reason?: string;
  by?: string;
  prefix: string;
  amqpUrl: string;
  /** Print `{action, stream, id, routing_key, broker}` as JSON instead of a sentence. */
  json?: boolean;
}

export interface ReleaseRequestArgs extends ReleaseRequestOptions {
  action: "hold" | "unhold" | "rollback";
}

/**
 * `hold STREAM --reason`, `unhold STREAM`, `rollback STREAM [--to VERSION]`: an operator's
 * request to the publisher, sent as `pipeline.operator.request`. The publisher records the hold
 * (and answers `pipeline.release.hold-set` / `hold-lifted`) or rolls the stream back (and
 * answers `pipeline.release.rolled-back`).
 */
export async function releaseRequestCommand(args: ReleaseRequestArgs): Promise<number> {
  if (!StreamName.safeParse(args.stream).success) throw new UsageError(`${JSON.stringify(args.stream)} is not a stream name (lowercase letters, digits, ._-)`);
  if (args.action === "hold" && !args.reason?.trim()) throw new UsageError("hold needs --reason (free text or a ticket URL)");
  const common = {
    version: PIPELINE_SPEC_VERSION,
    generated_at: new Date().toISOString(),
    requested_by: args.by ?? localOperator(),
    reason: args.reason?.trim() || `${args.action} requested from the command line`,
  };
  let body: OperatorRequest;
  if (args.action === "rollback") body = { action: "rollback", stream: args.stream, ...(args.to ? { to: args.to } : {}), ...common };
  else body = { action: args.action, stream: args.stream, ...common };
  const published = await withAmqpBus(args.amqpUrl, { prefix: args.prefix, connectionName: `atomic-ci ${args.action}` }, (bus) => bus.publish(OPERATOR_REQUEST_TOPIC, body));
  if (args.json) printJson({ action: args.action, stream: args.stream, id: published.id, routing_key: published.routingKey, broker: redactUrl(args.amqpUrl) });
  else process.stdout.write(`requested ${args.action} of ${args.stream} (${published.id}) on ${published.routingKey} at ${redactUrl(args.amqpUrl)}\n`);
  return EXIT.ok;
}
