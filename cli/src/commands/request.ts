import { userInfo } from "node:os";
import { OPERATOR_REQUEST_TOPIC, PIPELINE_SPEC_VERSION, type OperatorRequest } from "@atomic-ci/messages";
import { redactUrl } from "@atomic-ci/telemetry";
import { withAmqpBus } from "../amqp-bus.js";
import { EXIT, UsageError } from "../errors.js";

export interface RequestArgs {
  action: "compose" | "rerun";
  changeSet?: string;
  packages?: string[];
  reason: string;
  by?: string;
  prefix: string;
  amqpUrl: string;
}

/**
 * `request compose` / `request rerun CHANGE_SET`: an operator's request to the pipeline, sent
 * as `pipeline.operator.request` for the trigger-listener (a compose now, or a change set
 * run again — e.g. after an infrastructure failure, instead of a waiver).
 */
export async function requestCommand(args: RequestArgs): Promise<number> {
  const common = { version: PIPELINE_SPEC_VERSION, generated_at: new Date().toISOString(), requested_by: args.by ?? userInfo().username, reason: args.reason };
  let body: OperatorRequest;
  if (args.action === "rerun") {
    if (!args.changeSet) throw new UsageError("request rerun needs the change set id");
    body = { action: "rerun", change_set_id: args.changeSet, ...common };
  } else {
    body = { action: "compose", ...(args.packages?.length ? { packages: args.packages } : {}), ...common };
  }
  const published = await withAmqpBus(args.amqpUrl, { prefix: args.prefix, connectionName: "atomic-ci request" }, (bus) => bus.publish(OPERATOR_REQUEST_TOPIC, body));
  process.stdout.write(`requested ${args.action} (${published.id}) on ${published.routingKey} at ${redactUrl(args.amqpUrl)}\n`);
  return EXIT.ok;
}
