import { userInfo } from "node:os";
import { OPERATOR_REQUEST_TOPIC, PIPELINE_SPEC_VERSION, type OperatorRequest } from "@atomic-ci/messages";
import { redactUrl } from "@atomic-ci/telemetry";
import { withAmqpBus } from "../amqp-bus.js";
import { EXIT, UsageError } from "../errors.js";

export interface RequestArgs {
  action: "compose" | "rerun" | "rerun-test";
  changeSet?: string;
  /** rerun-test: the OSTree commit or compose id, and the test case name. */
  compose?: string;
  testcase?: string;
  /** rerun-test: POST to this test-runner results API instead of publishing on the bus. */
  api?: string;
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
  if (args.action === "rerun-test") {
    if (!args.compose || !args.testcase) throw new UsageError("request rerun-test needs --compose and --test");
    if (args.api) return rerunByApi(args.api, { compose: args.compose, testcase: args.testcase, reason: args.reason, requested_by: common.requested_by });
    body = { action: "rerun-test", compose: args.compose, testcase: args.testcase, ...common };
  } else if (args.action === "rerun") {
    if (!args.changeSet) throw new UsageError("request rerun needs the change set id");
    body = { action: "rerun", change_set_id: args.changeSet, ...common };
  } else {
    body = { action: "compose", ...(args.packages?.length ? { packages: args.packages } : {}), ...common };
  }
  const published = await withAmqpBus(args.amqpUrl, { prefix: args.prefix, connectionName: "atomic-ci request" }, (bus) => bus.publish(OPERATOR_REQUEST_TOPIC, body));
  process.stdout.write(`requested ${args.action} (${published.id}) on ${published.routingKey} at ${redactUrl(args.amqpUrl)}\n`);
  return EXIT.ok;
}

/** `request rerun-test --api URL`: the test-runner's `POST /api/v2.0/reruns`, answered at once with the QUEUED result. */
async function rerunByApi(api: string, body: { compose: string; testcase: string; reason: string; requested_by: string }): Promise<number> {
  const url = new URL("api/v2.0/reruns", api.endsWith("/") ? api : `${api}/`);
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  } catch (err) {
    process.stderr.write(`cannot reach ${redactUrl(url.toString())}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
  const answer = (await res.json().catch(() => ({}))) as { message?: string; commit?: string; result?: { id?: number } };
  if (res.status !== 202) {
    process.stderr.write(`re-run refused (${res.status}): ${answer.message ?? res.statusText}\n`);
    return res.status === 400 ? EXIT.usage : EXIT.failure;
  }
  process.stdout.write(`queued ${body.testcase} again on ${answer.commit ?? body.compose} (result ${answer.result?.id ?? "?"}) at ${redactUrl(url.toString())}\n`);
  return EXIT.ok;
}
