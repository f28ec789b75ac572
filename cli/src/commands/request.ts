import { randomUUID } from "node:crypto";
import { OPERATOR_REQUEST_TOPIC, PIPELINE_SPEC_VERSION, prefixTopic, type OperatorRequest } from "@atomic-ci/messages";
import { redactUrl } from "@atomic-ci/telemetry";
import { withAmqpBus } from "../amqp-bus.js";
import { openBusWatch, type BusWatch } from "../bus-watch.js";
import { EXIT, UsageError } from "../errors.js";
import { FOLLOW_STEPS, followMessage, followSummary, followTimeout, initialFollowState, type FollowedMessage, type FollowState, type FollowTarget } from "../follow.js";
import { localOperator, printJson } from "../io.js";
import { createProgress, type ProgressSettings } from "../progress.js";

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
  /** Print one JSON object (errors as `{"error": …}`) instead of sentences. */
  json?: boolean;
  /** compose/rerun: follow the request on the bus until the compose gate decides (`gate`) or a stream has it (`delivered`). */
  wait?: FollowTarget;
  /** With `wait`: give up (exit 1) after this many seconds. */
  timeoutSeconds?: number;
  /** Where `wait` draws its progress (stderr, a bar only at a terminal). */
  progress?: ProgressSettings;
  /** Ctrl-C while waiting: stop watching (exit 1). */
  signal?: AbortSignal;
  /**
   * With `wait`: the gatekeeper's base URL, asked for the gate's decision when the compose reuses
   * an earlier commit (the gatekeeper announces only decisions that change, and a reused commit's
   * tests are not run again, so the bus may never say it).
   */
  gatekeeper?: string;
  /** The product version of that decision (default fedora-41). */
  productVersion?: string;
}

/** Default of `--timeout`: a compose and the tests of a busy pipeline take a while. */
export const DEFAULT_WAIT_SECONDS = 3600;

/**
 * `request compose` / `request rerun CHANGE_SET` / `request rerun-test`: an operator's request
 * to the pipeline, sent as `pipeline.operator.request` for the trigger-listener (a compose now,
 * or a change set run again — e.g. after an infrastructure failure, instead of a waiver) or the
 * test-runner (one test again). With `wait`, what the pipeline does with it is followed.
 */
export async function requestCommand(args: RequestArgs): Promise<number> {
  try {
    return await request(args);
  } catch (err) {
    if (err instanceof UsageError || !args.json) throw err;
    printJson({ error: err instanceof Error ? err.message : String(err) });
    return EXIT.failure;
  }
}

async function request(args: RequestArgs): Promise<number> {
  const common = { version: PIPELINE_SPEC_VERSION, generated_at: new Date().toISOString(), requested_by: args.by ?? localOperator(), reason: args.reason };
  let body: OperatorRequest;
  if (args.action === "rerun-test") {
    if (args.wait) throw new UsageError("request rerun-test has no --wait: the re-run's result goes to the results API (atomic-ci status)");
    if (!args.compose || !args.testcase) throw new UsageError("request rerun-test needs --compose and --test");
    if (args.api) return rerunByApi(args.api, { compose: args.compose, testcase: args.testcase, reason: args.reason, requested_by: common.requested_by }, args.json === true);
    body = { action: "rerun-test", compose: args.compose, testcase: args.testcase, ...common };
  } else if (args.action === "rerun") {
    if (!args.changeSet) throw new UsageError("request rerun needs the change set id");
    body = { action: "rerun", change_set_id: args.changeSet, ...common };
  } else {
    body = { action: "compose", ...(args.packages?.length ? { packages: args.packages } : {}), ...common };
  }
  const broker = redactUrl(args.amqpUrl);
  // The id is chosen here so that the watch can recognise the answers from the first message on.
  const id = randomUUID();
  const watch = args.wait ? await openBusWatch(args.amqpUrl, { exchange: "amq.topic", bindings: followBindings(args.prefix, args.wait), connectionName: `atomic-ci request ${args.action} --wait` }) : undefined;
  try {
    const published = await withAmqpBus(args.amqpUrl, { prefix: args.prefix, connectionName: "atomic-ci request" }, (bus) => bus.publish(OPERATOR_REQUEST_TOPIC, body, { id }));
    const sent = { action: args.action, id: published.id, routing_key: published.routingKey, broker };
    if (!watch || !args.wait) {
      if (args.json) printJson(sent);
      else process.stdout.write(`requested ${args.action} (${published.id}) on ${published.routingKey} at ${broker}\n`);
      return EXIT.ok;
    }
    if (!args.json) process.stdout.write(`requested ${args.action} (${published.id}) on ${published.routingKey} at ${broker}; waiting for ${args.wait === "gate" ? "the compose gate" : "delivery"}\n`);
    const state = await follow(watch, initialFollowState(published.id, args.wait), args);
    if (args.json) printJson({ ...sent, wait: args.wait, ...followSummary(state) });
    else process.stdout.write(`${describeOutcome(state)}\n`);
    return state.outcome?.ok ? EXIT.ok : EXIT.failure;
  } finally {
    await watch?.close();
  }
}

/** What the watch is bound to: the deployment's pipeline messages, test messages and decisions (the services all publish under one prefix). */
export function followBindings(prefix: string, target: FollowTarget): string[] {
  const topics = ["pipeline.change-set.*", "pipeline.compose.*", "ci.productmd-compose.test.*", "greenwave.decision.update"];
  if (target === "delivered") topics.push("pipeline.image.*", "pipeline.release.*");
  return topics.map((t) => prefixTopic(prefix, t));
}

async function follow(watch: BusWatch, initial: FollowState, args: RequestArgs): Promise<FollowState> {
  const seconds = args.timeoutSeconds ?? DEFAULT_WAIT_SECONDS;
  const deadline = Date.now() + seconds * 1000;
  const progress = createProgress(FOLLOW_STEPS.length, args.progress ?? { stream: process.stderr, json: args.json === true, ci: false });
  let state = initial;
  progress.step(0, "sent", state.detail);
  try {
    while (!state.outcome) {
      if (args.signal?.aborted) return { ...state, outcome: { ok: false, stage: "interrupted", reason: `interrupted while ${state.detail}` } };
      const left = deadline - Date.now();
      // Short slices: an interruption is noticed within a second.
      const m = left > 0 ? await watch.next(Math.min(left, 1000)) : undefined;
      if (!m) {
        if (Date.now() >= deadline) state = followTimeout(state, seconds);
        continue;
      }
      const before = state;
      state = followMessage(state, m);
      if (args.gatekeeper && state.reused === true && before.commit === undefined && state.commit !== undefined) {
        for (const asked of await askGatekeeper(args.gatekeeper, args.productVersion ?? "fedora-41", state, (line) => progress.around(() => process.stderr.write(`${line}\n`)))) state = followMessage(state, asked);
      }
      if (state.step !== before.step) progress.step(state.step + 1, FOLLOW_STEPS[state.step] ?? "?", state.detail);
      else if (state.detail !== before.detail) progress.detail(state.detail);
    }
    return state;
  } finally {
    progress.stop();
  }
}

/**
 * The gates' current decisions on the commit from the gatekeeper's Greenwave API, as the bus
 * would carry them. A failure is said (on stderr) and leaves it to the bus.
 */
async function askGatekeeper(gatekeeper: string, productVersion: string, state: FollowState, warn: (line: string) => void): Promise<FollowedMessage[]> {
  const contexts = state.target === "delivered" ? [state.contexts.compose, state.contexts.image] : [state.contexts.compose];
  const url = new URL("api/v1.0/decision", gatekeeper.endsWith("/") ? gatekeeper : `${gatekeeper}/`);
  const out: FollowedMessage[] = [];
  for (const context of contexts) {
    const subject = { subject_type: "compose", subject_identifier: state.commit, product_version: productVersion, decision_context: context };
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(subject), signal: AbortSignal.timeout(15_000) });
      // 404: no policy at this context for the commit; nothing is gated there.
      if (res.status === 404) continue;
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const decision = (await res.json()) as Record<string, unknown>;
      out.push({ topic: "greenwave.decision.update", headers: {}, body: { ...decision, ...subject } });
    } catch (err) {
      warn(`atomic-ci: could not ask ${redactUrl(url.toString())} for the ${context} decision: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** The last lines of `--wait` for a person: the outcome and, for a gate that failed, each reason. */
export function describeOutcome(state: FollowState): string {
  const o = state.outcome;
  if (!o) return "";
  const where = [state.changeSetId, state.commit?.slice(0, 12)].filter(Boolean).join(", ");
  const lines = [`${o.ok ? "✓" : "✗"} ${o.stage}${where ? ` (${where})` : ""}: ${o.reason}`];
  const gate = o.stage === "image gate failed" ? state.imageGate : o.stage === "compose gate failed" ? state.composeGate : undefined;
  for (const u of gate?.unsatisfied ?? []) lines.push(`  unsatisfied: ${u}`);
  if (state.release?.event === "held" && !o.ok) lines.push(`  held from ${state.release.stream}: ${state.release.reasons.join("; ")}`);
  return lines.join("\n");
}

/** `request rerun-test --api URL`: the test-runner's `POST /api/v2.0/reruns`, answered at once with the QUEUED result. */
async function rerunByApi(api: string, body: { compose: string; testcase: string; reason: string; requested_by: string }, json: boolean): Promise<number> {
  const url = new URL("api/v2.0/reruns", api.endsWith("/") ? api : `${api}/`);
  const fail = (message: string, code: number): number => {
    if (json) printJson({ error: message });
    else process.stderr.write(`${message}\n`);
    return code;
  };
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  } catch (err) {
    return fail(`cannot reach ${redactUrl(url.toString())}: ${err instanceof Error ? err.message : String(err)}`, EXIT.failure);
  }
  const answer = (await res.json().catch(() => ({}))) as { message?: string; compose_id?: string; commit?: string; testcase?: string; result?: { id?: number } };
  if (res.status !== 202) return fail(`re-run refused (${res.status}): ${answer.message ?? res.statusText}`, res.status === 400 ? EXIT.usage : EXIT.failure);
  if (json) printJson({ action: "rerun-test", api: redactUrl(url.toString()), ...answer });
  else process.stdout.write(`queued ${body.testcase} again on ${answer.commit ?? body.compose} (result ${answer.result?.id ?? "?"}) at ${redactUrl(url.toString())}\n`);
  return EXIT.ok;
}
