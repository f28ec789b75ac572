// The publisher's message handling over the in-memory store, without promotion (that needs
// ostree and gpg: publisher.int.test.ts). The bus is a recorder of what would be published.
import { describe, expect, it } from "vitest";
import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import { ComposeCompleteMessage, GreenwaveDecisionUpdateMessage, ImageCompleteMessage, OperatorRequestMessage, PIPELINE_SPEC_VERSION } from "@atomic-ci/messages";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import { publisherConfigSchema } from "./config.js";
import type { GateChecker } from "./gate.js";
import { parseDeliveryPolicy } from "./policy.js";
import { StaticPolicySource } from "./policy-source.js";
import { Publisher } from "./publisher.js";
import { MemoryPublisherStore } from "./store.js";

const COMMIT = "c".repeat(64);
const GATES = ["atomic_ci_compose_gate", "atomic_ci_image_gate"];

function setup(settings: Record<string, unknown> = {}) {
  const published: { topic: string; body: Record<string, unknown> }[] = [];
  const bus = {
    publish: (topic: string, body: unknown) => {
      published.push({ topic, body: body as Record<string, unknown> });
      return Promise.resolve({ id: String(published.length), routingKey: topic, schema: "base.message" });
    },
  };
  const config = publisherConfigSchema.parse({ service: "publisher", publisher: settings });
  const policy = new StaticPolicySource(parseDeliveryPolicy("streams:\n  testing: {}\n"));
  const store = new MemoryPublisherStore();
  const asked: string[] = [];
  const gate: GateChecker = {
    check: (commit, contexts) => {
      asked.push(commit);
      return Promise.resolve(contexts.map((context) => ({ context, satisfied: true, summary: "ok" })));
    },
  };
  const metrics = createMetrics();
  const publisher = new Publisher({ bus, store, settings: config.publisher, policy, gate, tools: { env: {} }, logger: silentLogger(), metrics, now: () => new Date("2026-11-26T12:00:00Z") });
  return { publisher, published, store, policy, asked, metrics };
}

const context: HandlerContext = { log: silentLogger(), deliveryCount: 1, setChangeSet: () => undefined };

function message(schema: string, body: unknown, userId?: string): BusMessage {
  return { id: "m", topic: `x.${schema}`, schema, headers: {}, body, severity: 20, ...(userId === undefined ? {} : { userId }) };
}

const compose = {
  change_set_id: "cs-0123456789abcdef",
  compose_id: "atomic-ci-1",
  version: PIPELINE_SPEC_VERSION,
  generated_at: "2026-11-26T11:00:00Z",
  ref: "fedora/41/x86_64/atomic-host",
  commit: COMMIT,
  os_version: "41.20261126.0",
  input_hash: "a".repeat(64),
  repo: { location: "/srv/repo" },
  lockfile: { location: "/srv/lock.json", sha256: "b".repeat(64) },
  pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] },
  reused: false,
  timestamp: "2026-11-26T11:00:00Z",
};

const images = {
  compose_id: "atomic-ci-1",
  ref: compose.ref,
  commit: COMMIT,
  version: PIPELINE_SPEC_VERSION,
  generated_at: "2026-11-26T11:05:00Z",
  os_version: "41.20261126.0",
  images: {},
  meta: { location: "/srv/images/meta.json" },
  reused: [],
};

function decision(context: string, satisfied: boolean) {
  return {
    subject_type: "compose",
    subject_identifier: COMMIT,
    product_version: "fedora-41",
    decision_context: context,
    policies_satisfied: satisfied,
    summary: satisfied ? "All required tests passed" : "1 of 1 required tests failed",
    applicable_policies: ["p"],
    unsatisfied_requirements: [],
  };
}

async function feed(p: Publisher, satisfied = true): Promise<void> {
  await p.handle(message(ComposeCompleteMessage.name, compose), context);
  await p.handle(message(ImageCompleteMessage.name, images), context);
  for (const g of GATES) await p.handle(message(GreenwaveDecisionUpdateMessage.name, decision(g, satisfied), "atomic-ci-gatekeeper"), context);
}

describe("Publisher", () => {
  it("dead-letters a decision from another account than the gatekeeper's, and counts it", async () => {
    const { publisher, store, metrics } = setup();
    const outcome = await publisher.handle(message(GreenwaveDecisionUpdateMessage.name, decision(GATES[0] ?? "", true), "atomic-ci-test-runner"), context);
    expect(outcome).toEqual({ type: "drop", reason: expect.stringContaining('broker account "atomic-ci-test-runner", not the gatekeeper\'s ("atomic-ci-gatekeeper")') as unknown });
    expect(await store.listCandidates()).toEqual([]);
    expect((await metrics.publisherUntrusted.get()).values[0]?.value).toBe(1);
    const anonymous = await publisher.handle(message(GreenwaveDecisionUpdateMessage.name, decision(GATES[0] ?? "", true)), context);
    expect(anonymous.type).toBe("drop");
    // Decisions at other contexts or about other subjects are not the publisher's business, whoever sent them.
    const other = await publisher.handle(message(GreenwaveDecisionUpdateMessage.name, { ...decision("bodhi_update_push_testing", true), subject_type: "koji_build" }, "greenwave"), context);
    expect(other.type).toBe("ack");
  });

  it("a manual hold is announced at once, with the inputs still awaited; their arrival sends nothing more", async () => {
    const { publisher, published } = setup();
    await publisher.handle(message(OperatorRequestMessage.name, { action: "hold", stream: "testing", version: PIPELINE_SPEC_VERSION, generated_at: "2026-11-26T12:00:00Z", requested_by: "alice", reason: "r" }), context);
    await feed(publisher);
    const held = published.filter((m) => m.topic === "pipeline.release.held");
    expect(held).toHaveLength(1);
    expect((held[0]?.body.reasons as { kind: string }[]).map((r) => r.kind)).toEqual(["incomplete", "gate", "gate", "manual-hold"]);
  });

  it("says nothing while a compose waits for its inputs, then holds it once with the reason it cannot be delivered", async () => {
    const { publisher, published, asked } = setup({ gatekeeperUrl: "http://127.0.0.1:1" });
    await publisher.handle(message(ComposeCompleteMessage.name, compose), context);
    await publisher.handle(message(ImageCompleteMessage.name, images), context);
    expect(published).toEqual([]);
    for (const g of GATES) await publisher.handle(message(GreenwaveDecisionUpdateMessage.name, decision(g, true), "atomic-ci-gatekeeper"), context);
    // No signing key configured: held for that, and the gatekeeper is not even asked.
    expect(published.map((m) => m.topic)).toEqual(["pipeline.release.held"]);
    expect(published[0]?.body).toMatchObject({ stream: "testing", os_version: "41.20261126.0", commit: COMMIT, change_set_id: "cs-0123456789abcdef", reasons: [{ kind: "config" }] });
    expect(asked).toEqual([]);
    await publisher.evaluate();
    await publisher.evaluate();
    expect(published).toHaveLength(1);
  });

  it("a failing gate is a held reason; a new set of reasons is a new held message", async () => {
    const { publisher, published } = setup();
    await feed(publisher, false);
    // Held as soon as the first gate fails (the other one not decided yet), again when the second fails too.
    expect(published.map((m) => (m.body.reasons as { detail: string }[]).map((r) => r.detail))).toEqual([
      ["atomic_ci_compose_gate not satisfied: 1 of 1 required tests failed", "no decision at atomic_ci_image_gate yet"],
      ["atomic_ci_compose_gate not satisfied: 1 of 1 required tests failed", "atomic_ci_image_gate not satisfied: 1 of 1 required tests failed"],
    ]);
    await publisher.handle(message(GreenwaveDecisionUpdateMessage.name, decision(GATES[0] ?? "", true), "atomic-ci-gatekeeper"), context);
    expect(published).toHaveLength(3);
    expect(published[2]?.body.reasons).toEqual([{ kind: "gate", detail: "atomic_ci_image_gate not satisfied: 1 of 1 required tests failed" }]);
  });

  it("records manual holds and lifts them, answering each", async () => {
    const { publisher, published, store } = setup();
    const request = (action: string) => ({ action, stream: "testing", version: PIPELINE_SPEC_VERSION, generated_at: "2026-11-26T12:00:00Z", requested_by: "alice", reason: "change freeze" });
    await publisher.handle(message(OperatorRequestMessage.name, request("hold")), context);
    expect(await store.getHolds()).toEqual({ testing: { by: "alice", reason: "change freeze", at: "2026-11-26T12:00:00.000Z" } });
    await publisher.handle(message(OperatorRequestMessage.name, request("unhold")), context);
    expect(await store.getHolds()).toEqual({});
    expect(published.map((m) => m.topic)).toEqual(["pipeline.release.hold-set", "pipeline.release.hold-lifted"]);
    // Compose requests are the trigger-listener's.
    const compose = await publisher.handle(message(OperatorRequestMessage.name, { ...request("compose"), stream: undefined }), context);
    expect(compose.type).toBe("ack");
  });

  it("delivers nothing without a usable policy", async () => {
    const { publisher, published, policy } = setup();
    policy.set(undefined);
    await feed(publisher);
    const report = await publisher.evaluate();
    expect(report.policyError).toBe("no delivery policy");
    expect(published).toEqual([]);
  });
});
