// The dashboard deployed: on RabbitMQ and Redis, one process. Stopped and started again it
// shows at once what it showed before (its snapshot in Redis), plus what was published while it
// was down (its durable queue kept it). A snapshot it cannot read is ignored, not fatal.
import { Writable } from "node:stream";
import amqp from "amqplib";
import { Redis } from "ioredis";
import { createDashboardService, type DashboardState } from "@atomic-ci/dashboard";
import { changeSetIdOf, type ChangeSetMember } from "@atomic-ci/messages";
import { runService, type ServiceHandle } from "@atomic-ci/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/index.js";

const services = testServices();
const queue = uniqueName("atomic-ci.dashboard-test");
const snapshotKey = uniqueName("atomic-ci:dashboard-test:snapshot");
const silent = () => new Writable({ write: (_c: Buffer, _e, done) => done() });

function changeSet(nvr: string) {
  const members: ChangeSetMember[] = [{ kind: "build", package: nvr.split("-").slice(0, -2).join("-"), nvr, build_id: 1, source_message_id: `m-${nvr}`, source_topic: "org.fedoraproject.prod.buildsys.build.state.change" }];
  return { change_set_id: changeSetIdOf(members), version: "1.0.0", generated_at: new Date().toISOString(), reason: "koji-build", members, definition: { repo: "fedora-atomic", branch: "f41" } };
}

async function startDashboard(): Promise<{ handle: ServiceHandle; base: string }> {
  const definition = createDashboardService();
  const handle = await runService({
    ...definition,
    logDestination: silent(),
    processMetrics: false,
    config: {
      env: {},
      overrides: {
        bus: { amqp: { url: services.amqpUrl }, queue },
        redis: { url: services.redisUrl, keyPrefix: uniqueName("atomic-ci:idem-dashboard-test") },
        http: { host: "127.0.0.1", port: 0 },
        dashboard: { http: { host: "127.0.0.1", port: 0 }, snapshot: { key: snapshotKey, intervalMs: 100 } },
      },
    },
  });
  if (!definition.running) throw new Error("the dashboard did not start");
  return { handle, base: `http://127.0.0.1:${definition.running.port}` };
}

async function publisher(): Promise<ServiceHandle> {
  return runService({ name: "dashboard-test-publisher", setup: () => undefined, logDestination: silent(), processMetrics: false, config: { env: {}, overrides: { bus: { amqp: { url: services.amqpUrl } }, http: { host: "127.0.0.1", port: 0 } } } });
}

async function stateUntil(base: string, ok: (s: DashboardState) => boolean): Promise<DashboardState> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = (await (await fetch(`${base}/api/state`)).json()) as DashboardState;
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out; state: ${JSON.stringify(s.order)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  const connection = await amqp.connect(services.amqpUrl);
  const channel = await connection.createChannel();
  for (const q of [queue, `${queue}.dead-letter`]) await channel.deleteQueue(q);
  await connection.close();
  const redis = new Redis(services.redisUrl);
  await redis.del(snapshotKey);
  await redis.quit();
});

describe("the dashboard on RabbitMQ and Redis", () => {
  it("comes back after a restart with its snapshot and what its queue kept meanwhile", async () => {
    const first = changeSet("podman-5.3.0-1.fc41");
    const second = changeSet("ostree-2024.9-1.fc41");
    const pub = await publisher();
    try {
      let dashboard = await startDashboard();
      await pub.bus.publish("pipeline.change-set.queued", first);
      await stateUntil(dashboard.base, (s) => s.order.includes(first.change_set_id));
      const result = await dashboard.handle.shutdown("restart");
      expect(result.steps).toEqual(expect.arrayContaining(["dashboard-http", "dashboard-snapshot"]));

      await pub.bus.publish("pipeline.change-set.queued", second);
      dashboard = await startDashboard();
      try {
        // The snapshot is there before anything is consumed; the queued message follows.
        const restored = await stateUntil(dashboard.base, (s) => s.order.includes(second.change_set_id));
        expect(restored.order).toEqual([second.change_set_id, first.change_set_id]);
        expect(restored.seq).toBe(2);
        const page = await (await fetch(`${dashboard.base}/`)).text();
        expect(page).toContain("podman-5.3.0-1.fc41");
        expect(page).toContain("ostree-2024.9-1.fc41");
      } finally {
        await dashboard.handle.shutdown("test done");
      }
    } finally {
      await pub.shutdown("test done");
    }
  });

  it("starts empty when the snapshot is unreadable", async () => {
    const redis = new Redis(services.redisUrl);
    await redis.set(snapshotKey, "{not json");
    await redis.quit();
    const dashboard = await startDashboard();
    try {
      const s = (await (await fetch(`${dashboard.base}/api/state`)).json()) as DashboardState;
      expect(s.order).toEqual([]);
    } finally {
      await dashboard.handle.shutdown("test done");
    }
  });
});
