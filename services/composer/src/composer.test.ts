import type { BusMessage, HandlerContext } from "@atomic-ci/bus";
import type { ComposeOptions, ComposeResult } from "@atomic-ci/compose";
import { changeSetIdOf, type ChangeSetMember } from "@atomic-ci/messages";
import { silentLogger } from "@atomic-ci/telemetry";
import { describe, expect, it } from "vitest";
import { Composer } from "./composer.js";

const members: ChangeSetMember[] = [{ kind: "operator-request", action: "compose", requested_by: "alice", source_message_id: "m-1", source_topic: "t" }];
const ID = changeSetIdOf(members);

function changeSet(branch = "f41"): BusMessage {
  const body = { change_set_id: ID, version: "1.0.0", generated_at: "2025-01-02T03:04:05Z", reason: "operator", members, definition: { repo: "atomic/host-definition", branch } };
  return { id: "msg-1", topic: "org.atomic-ci.dev.pipeline.change-set.queued", body, headers: {} } as unknown as BusMessage;
}

function context(deliveryCount: number): HandlerContext & { changeSets: string[] } {
  const changeSets: string[] = [];
  return { log: silentLogger(), deliveryCount, setChangeSet: (id) => changeSets.push(id), changeSets };
}

function harness(result: ComposeResult) {
  const published: { topic: string; body: Record<string, unknown>; headers: unknown }[] = [];
  const calls: ComposeOptions[] = [];
  const composer = new Composer({
    bus: {
      publish: (topic, body, options) => {
        published.push({ topic, body: body as Record<string, unknown>, headers: options?.headers });
        return Promise.resolve({ id: "x", routingKey: topic, schema: "s" });
      },
    },
    settings: { definition: { repo: "/nonexistent/definition", branch: "f41", treefile: "host.yaml" }, workDir: "/tmp/atomic-ci-composer-unit", ostreeRepo: "/srv/repo", basearch: "x86_64", candidates: { id: "candidates" } },
    maxDeliveries: 3,
    tools: { env: {} },
    now: () => new Date("2025-01-02T03:04:05Z"),
    checkout: () => Promise.resolve("0".repeat(40)),
    compose: (options) => {
      calls.push(options);
      return Promise.resolve(result);
    },
  });
  return { composer, published, calls, topics: () => published.map((p) => p.topic) };
}

const composed: ComposeResult = {
  type: "composed",
  ref: "fedora/41/x86_64/atomic-host",
  commit: "a".repeat(64),
  version: "41.1",
  timestamp: 1735787045,
  inputHash: "b".repeat(64),
  reused: true,
  packages: [],
  pkgdiff: { added: [], removed: [], changed: [] },
  lockfile: "{}",
  composeJson: "/srv/composes/x.json",
  imported: [],
  timings: {},
};

describe("Composer.handle", () => {
  it("announces, composes the checked-out treefile and publishes complete, all tagged with the change set", async () => {
    const h = harness(composed);
    const ctx = context(1);
    expect(await h.composer.handle(changeSet(), ctx)).toEqual({ type: "ack" });
    expect(h.topics()).toEqual(["pipeline.compose.queued", "pipeline.compose.running", "pipeline.compose.complete"]);
    expect(h.published.every((p) => JSON.stringify(p.headers) === JSON.stringify({ atomic_ci_change_set: ID }))).toBe(true);
    expect(h.published[2]?.body).toMatchObject({ commit: "a".repeat(64), reused: true, repo: { location: "/srv/repo" } });
    expect(ctx.changeSets).toEqual([ID]);
    expect(h.calls[0]?.treefile).toMatch(/\/definition\/host\.yaml$/);
    expect(h.calls[0]?.changeSetId).toBe(ID);
    expect(h.calls[0]?.candidates).toBeUndefined();
  });

  it("requeues an infrastructure error until the last delivery, then reports it", async () => {
    const h = harness({ type: "infrastructure-error", reason: "No space left on device" });
    expect(await h.composer.handle(changeSet(), context(2))).toEqual({ type: "requeue", reason: "infrastructure error: No space left on device" });
    expect(h.topics()).not.toContain("pipeline.compose.error");
    expect(await h.composer.handle(changeSet(), context(3))).toEqual({ type: "ack" });
    expect(h.published.at(-1)).toMatchObject({ topic: "pipeline.compose.error", body: { kind: "infrastructure-error", reason: "No space left on device" } });
  });

  it("acks a compose failure after reporting the missing dependency", async () => {
    const h = harness({ type: "compose-failure", reason: "nothing provides libndp >= 1.9", missingDependency: "libndp >= 1.9" });
    expect(await h.composer.handle(changeSet(), context(1))).toEqual({ type: "ack" });
    expect(h.published.at(-1)?.body).toMatchObject({ kind: "compose-failure", missing_dependency: "libndp >= 1.9" });
  });

  it("refuses a change set for another branch without composing", async () => {
    const h = harness(composed);
    await h.composer.handle(changeSet("rawhide"), context(1));
    expect(h.calls).toHaveLength(0);
    expect(h.published.at(-1)?.body).toMatchObject({ kind: "compose-failure", reason: expect.stringContaining("rawhide") as unknown });
  });
});
