import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { loadFedoraFixtures, topicMatches } from "@atomic-ci/messages";
import { runService } from "@atomic-ci/runtime";
import { describe, expect, it } from "vitest";
import { createTriggerListenerService, DEFAULT_BINDINGS } from "./index.js";

const fixturesDir = process.env["ATOMIC_CI_SHARED_DIR"]
  ? join(process.env["ATOMIC_CI_SHARED_DIR"], "fixtures", "fedora-messages")
  : fileURLToPath(new URL("../../../../shared/fixtures/fedora-messages/", import.meta.url));

/** Real Fedora messages; bare bodies carry no prefix, so they get production's. */
const upstream = loadFedoraFixtures(fixturesDir)
  .filter((f) => f.variant !== "template")
  .map((f) => ({ ...f, routingKey: f.topic.startsWith("org.") ? f.topic : `org.fedoraproject.prod.${f.topic}` }));

describe("trigger-listener default bindings", () => {
  it.each(["buildsys.build.state.change", "buildsys.tag", "git.receive", "bodhi.update.", "pagure.pull-request.", "pungi.compose.status.change"])(
    "route the real %s messages to the service",
    (topic) => {
      const matching = upstream.filter((f) => f.routingKey.includes(`.${topic}`));
      expect(matching.length).toBeGreaterThan(0);
      for (const f of matching) expect(DEFAULT_BINDINGS.some((b) => topicMatches(b, f.routingKey)), f.file).toBe(true);
    },
  );

  it("leave out what the pipeline itself emits", () => {
    for (const key of ["org.centos.prod.ci.koji-build.test.complete", "org.fedoraproject.prod.greenwave.decision.update", "org.atomic-ci.dev.compose.complete", "org.atomic-ci.dev.pipeline.change-set.queued", "org.atomic-ci.dev.pipeline.change-set.ignored", "org.atomic-ci.dev.pipeline.compose.complete"]) {
      expect(DEFAULT_BINDINGS.some((b) => topicMatches(b, key)), key).toBe(false);
    }
  });

  it("take operator requests under any prefix", () => {
    expect(DEFAULT_BINDINGS.some((b) => topicMatches(b, "org.atomic-ci.dev.pipeline.operator.request"))).toBe(true);
  });

  it("consume a real Koji tag message and ack it", async () => {
    const handle = await runService({
      ...createTriggerListenerService(),
      logDestination: new Writable({ write: (_c, _e, done) => done() }),
      processMetrics: false,
      config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 } } },
    });
    try {
      const tag = upstream.find((f) => f.file === "buildsys.tag.json");
      if (!tag) throw new Error("no buildsys.tag fixture");
      await handle.bus.publish("buildsys.tag", tag.body, { topicPrefix: "org.fedoraproject.prod" });
      const deadline = Date.now() + 5000;
      while ((await handle.metrics.processed.get()).values.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect((await handle.metrics.processed.get()).values[0]?.value).toBe(1);
    } finally {
      expect((await handle.shutdown("test over")).exitCode).toBe(0);
    }
  });
});
