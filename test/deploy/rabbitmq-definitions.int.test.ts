// deploy/rabbitmq/definitions.json: checked against what the services declare, bind and
// publish; then imported into the local RabbitMQ (a vhost of this run's own) and the
// pipeline run under those users: trigger-listener → composer on the fixture world, and the
// gatekeeper, each logged in as atomic-ci-<service>. Least privilege is shown by what works
// and by what the broker refuses.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError, type BusMessage } from "@atomic-ci/bus";
import { createComposerService } from "@atomic-ci/composer";
import { createGatekeeperService } from "@atomic-ci/gatekeeper";
import {
  CHANGE_SET_IGNORED_TOPIC,
  CHANGE_SET_QUEUED_TOPIC,
  CULPRITS_FOUND_TOPIC,
  GREENWAVE_DECISION_UPDATE_TOPIC,
  OPERATOR_REQUEST_TOPIC,
  RESULTSDB_RESULT_NEW_TOPIC,
  WAIVERDB_WAIVER_NEW_TOPIC,
  ciTestTopic,
  composeTopic,
  imageTopic,
} from "@atomic-ci/messages";
import { commonConfigSchema, defineService, runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";
import { buildFixtureWorld, findBuild, kojiBuildComplete, pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";
import { testServices, uniqueName } from "../support/index.js";
import { amqpUrlFor, importDefinitions, passwordsFor, queuePolicies, readDefinitions, removeDefinitions, renderDefinitions, type Definitions } from "./rabbitmq.js";

const defs = readDefinitions();
const PREFIX = commonConfigSchema.shape.bus.parse(undefined).topicPrefix;

/**
 * What each service binds (its default bindings, read from its package when the test runs, so
 * one package that does not load fails its own tests only) and publishes (its topics).
 */
const SERVICES: Record<string, { bindings: () => Promise<readonly string[]>; publishes: string[] }> = {
  "trigger-listener": { bindings: async () => (await import("@atomic-ci/trigger-listener")).DEFAULT_BINDINGS, publishes: [CHANGE_SET_QUEUED_TOPIC, CHANGE_SET_IGNORED_TOPIC] },
  composer: { bindings: async () => (await import("@atomic-ci/composer")).DEFAULT_BINDINGS, publishes: (["queued", "running", "complete", "error"] as const).map(composeTopic) },
  "image-builder": { bindings: async () => (await import("@atomic-ci/image-builder")).DEFAULT_BINDINGS, publishes: (["queued", "progress", "complete", "error"] as const).map(imageTopic) },
  "test-runner": {
    bindings: async () => (await import("@atomic-ci/test-runner")).DEFAULT_BINDINGS,
    publishes: [...(["queued", "running", "complete", "error"] as const).map((s) => ciTestTopic("productmd-compose", s)), ciTestTopic("koji-build", "complete"), RESULTSDB_RESULT_NEW_TOPIC],
  },
  gatekeeper: {
    bindings: async () => (await import("@atomic-ci/gatekeeper")).DEFAULT_BINDINGS,
    publishes: [GREENWAVE_DECISION_UPDATE_TOPIC, WAIVERDB_WAIVER_NEW_TOPIC, CULPRITS_FOUND_TOPIC, CHANGE_SET_QUEUED_TOPIC],
  },
  // Its bindings come with the publisher service; what definitions.json allows it is in docs/deploy.md.
  publisher: { bindings: () => Promise.resolve([]), publishes: ["pipeline.release.held", "pipeline.release.delivered", "pipeline.release.rolled-back"] },
  // Read-only: it binds what the page shows and publishes nothing.
  dashboard: { bindings: async () => (await import("@atomic-ci/dashboard")).DEFAULT_BINDINGS, publishes: [] },
};

/** RabbitMQ matches permission regexes unanchored (re:run); the definitions anchor their own. */
const matches = (regex: string, value: string) => new RegExp(regex).test(value);
const permissionOf = (user: string) => defs.permissions.find((p) => p.user === user);
const topicPermissionOf = (user: string) => defs.topic_permissions.find((p) => p.user === user && p.exchange === "amq.topic");

describe("deploy/rabbitmq/definitions.json against the services' code", () => {
  it("has one user per service, tagless, in the atomic-ci vhost, and the operator's", () => {
    expect(defs.vhosts).toEqual([{ name: "atomic-ci" }]);
    expect(defs.users.map((u) => u.name).sort()).toEqual([...Object.keys(SERVICES).map((s) => `atomic-ci-${s}`), "atomic-ci-operator"].sort());
    for (const user of defs.users) expect(user, user.name).toMatchObject({ tags: [], password_hash: "" });
    for (const item of [...defs.permissions, ...defs.topic_permissions, ...defs.policies]) expect(item.vhost).toBe("atomic-ci");
  });

  for (const [service, { bindings, publishes }] of Object.entries(SERVICES)) {
    const user = `atomic-ci-${service}`;
    const queue = `atomic-ci.${service}`;
    const others = Object.keys(SERVICES).filter((s) => s !== service);

    it(`${service}: may declare, bind and consume its own queue and dead-letter queue, nobody else's`, () => {
      const p = permissionOf(user);
      if (!p) throw new Error(`no permissions for ${user}`);
      expect(matches(p.configure, queue) && matches(p.configure, `${queue}.dead-letter`)).toBe(true);
      // queue.bind: write on the queue, read on the exchange; consume: read on the queue.
      expect(matches(p.write, queue) && matches(p.read, queue) && matches(p.read, "amq.topic")).toBe(true);
      // Publishes go to amq.topic; dead-letter copies to the default exchange (amq.default).
      expect(matches(p.write, "amq.topic") && matches(p.write, "amq.default")).toBe(true);
      for (const other of others) {
        for (const q of [`atomic-ci.${other}`, `atomic-ci.${other}.dead-letter`]) {
          expect([matches(p.configure, q), matches(p.write, q), matches(p.read, q)], `${user} on ${q}`).toEqual([false, false, false]);
        }
      }
      expect(matches(p.configure, "amq.topic") || matches(p.configure, `${queue}x`) || matches(p.read, `${queue}.dead-letter`)).toBe(false);
    });

    it(`${service}: may bind exactly its routing keys and publish exactly its topics`, async () => {
      const t = topicPermissionOf(user);
      if (!t) throw new Error(`no topic permissions for ${user}`);
      for (const binding of await bindings()) expect(matches(t.read, binding), `${user} binds ${binding}`).toBe(true);
      expect(matches(t.read, "#"), `${user} binds #`).toBe(false);
      for (const topic of publishes) {
        expect(matches(t.write, `${PREFIX}.${topic}`), `${user} publishes ${topic}`).toBe(true);
        expect(matches(t.write, `org.centos.prod.${topic}`), `${user} publishes ${topic} under another prefix`).toBe(true);
        expect(matches(t.write, topic), `${user} publishes ${topic} without a prefix`).toBe(false);
      }
      const foreign = Object.entries(SERVICES)
        .filter(([s]) => s !== service)
        .flatMap(([, o]) => o.publishes)
        .filter((topic) => !publishes.includes(topic));
      for (const topic of [...foreign, OPERATOR_REQUEST_TOPIC, "buildsys.build.state.change"]) {
        expect(matches(t.write, `${PREFIX}.${topic}`), `${user} must not publish ${topic}`).toBe(false);
      }
    });

    it(`${service}: its queue's policy keeps the code's queue arguments and delivery limit`, () => {
      const policy = defs.policies.find((p) => matches(p.pattern, queue));
      expect(policy?.name).toBe(`atomic-ci.${service}`);
      const defaults = commonConfigSchema.shape.bus.parse(undefined);
      // The services dead-letter after bus.maxDeliveries themselves; the broker's limit is
      // only the safety net for a consumer that dies before it can (the message goes to
      // the same dead-letter queue), so it must be above the services' limit.
      expect(Number(policy?.definition["delivery-limit"])).toBeGreaterThan(defaults.maxDeliveries);
      expect(policy?.definition).toMatchObject({ "dead-letter-exchange": "", "dead-letter-routing-key": `${queue}.dead-letter` });
      // The code declares x-queue-type; a policy cannot and must not say otherwise.
      for (const key of Object.keys(policy?.definition ?? {})) expect(key).not.toMatch(/^(x-|queue-type)/);
      const dlq = defs.policies.find((p) => matches(p.pattern, `${queue}.dead-letter`));
      expect(dlq?.name).toBe("atomic-ci.dead-letters");
    });
  }
});

describe("the pipeline under the per-service users on RabbitMQ", () => {
  const vhost = uniqueName("atomic-ci-deploy");
  const WATCH_USER = uniqueName("atomic-ci-test-watch");
  const passwords = passwordsFor([...defs.users.map((u) => u.name), WATCH_USER]);
  const base = testServices().amqpUrl;
  const urlOf = (user: string) => amqpUrlFor(base, vhost, user, passwords[user] ?? "");
  let rendered: Definitions | undefined;
  let world: FixtureWorld;
  let dir: string;
  let group: GroupHandle | undefined;
  const gatekeeperDefinition = createGatekeeperService({ env: process.env });
  const seen: BusMessage[] = [];

  const service = (name: string): ServiceHandle => {
    const found = group?.services.find((s) => s.name === name);
    if (!found) throw new Error(`${name} is not running`);
    return found;
  };
  async function waitFor(match: (m: BusMessage) => boolean, timeoutMs = 120_000): Promise<BusMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = seen.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out; seen: ${seen.map((m) => m.topic).join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "atomic-ci-deploy-"));
    rendered = renderDefinitions(defs, vhost, passwords, [WATCH_USER]);
    await importDefinitions(rendered);
    world = await buildFixtureWorld();
    const perService: Record<string, { config: { env: Record<string, string>; overrides: Record<string, unknown> } }> = pipelinePerService(world, dir);
    for (const [name, options] of Object.entries(perService)) options.config.env = { ATOMIC_CI_BUS__AMQP__URL: urlOf(`atomic-ci-${name}`) };
    // A watcher with full rights on this vhost only: sees every message as a consumer would.
    const watch = defineService({
      name: "deploy-watch",
      bindings: ["#"],
      handle: (message) => {
        seen.push(message);
        return Promise.resolve();
      },
    });
    perService["deploy-watch"] = { config: { env: { ATOMIC_CI_BUS__AMQP__URL: urlOf(WATCH_USER) }, overrides: { http: { host: "127.0.0.1", port: 0 } } } };
    group = await runServices([watch, createTriggerListenerService(), createComposerService({ env: process.env }), gatekeeperDefinition], {
      logDestination: new Writable({ write: (_chunk, _enc, done) => done() }),
      processMetrics: false,
      perService,
    });
  }, 300_000);

  afterAll(async () => {
    await group?.shutdown("test done");
    if (rendered) await removeDefinitions(rendered);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("runs a Koji build through trigger-listener and composer, each message signed by its service's user", async () => {
    for (const s of group?.services ?? []) expect(s.state(), s.name).toMatchObject({ ready: true, consuming: true });
    const message = kojiBuildComplete(findBuild(world, "ostree-2024.9-1.fc41"));
    // Fedora's message comes from outside: the watcher (full rights) plays the Fedora broker.
    await service("deploy-watch").bus.publish(message.topic, message.body, { topicPrefix: "org.fedoraproject.prod" });
    const queued = await waitFor((m) => m.topic === `${PREFIX}.${CHANGE_SET_QUEUED_TOPIC}`);
    expect(queued.userId).toBe("atomic-ci-trigger-listener");
    const id = (queued.body as { change_set_id: string }).change_set_id;
    const complete = await waitFor((m) => m.topic === `${PREFIX}.${composeTopic("complete")}` && (m.body as { change_set_id?: string }).change_set_id === id, 180_000);
    expect(complete.userId).toBe("atomic-ci-composer");
    expect((complete.body as { commit: string }).commit).toMatch(/^[0-9a-f]{64}$/);
    expect(seen.filter((m) => m.topic.startsWith(`${PREFIX}.pipeline.compose.`)).every((m) => m.userId === "atomic-ci-composer")).toBe(true);
  }, 240_000);

  it("carries user_id atomic-ci-gatekeeper on the gatekeeper's messages", async () => {
    const res = await fetch(`http://127.0.0.1:${gatekeeperApiPort()}/api/v1.0/waivers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        subject_type: "koji_build",
        subject_identifier: "ostree-2024.9-1.fc41",
        testcase: "fedora-ci.koji-build.tier0.functional",
        product_version: "fedora-41",
        username: "deploy-test",
        comment: "least-privilege test",
        waived: true,
      }),
    });
    expect(res.status).toBe(201);
    const waiver = await waitFor((m) => m.topic === `${PREFIX}.${WAIVERDB_WAIVER_NEW_TOPIC}`, 30_000);
    expect(waiver.userId).toBe("atomic-ci-gatekeeper");
  });

  it("refuses a service what its user may not do", async () => {
    // Publishing another service's topic through the service's own bus.
    const queued = seen.find((m) => m.topic === `${PREFIX}.${CHANGE_SET_QUEUED_TOPIC}`);
    const refused = await service("composer").bus.publish(CHANGE_SET_QUEUED_TOPIC, queued?.body).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(BusError);
    expect((refused as BusError).code).toBe("PUBLISH_FORBIDDEN");

    const connection = await amqp.connect(urlOf("atomic-ci-composer"));
    connection.on("error", () => undefined);
    try {
      const attempt = async (what: (ch: amqp.ConfirmChannel) => Promise<unknown>): Promise<string> => {
        const ch = await connection.createConfirmChannel();
        const closed = new Promise<string>((resolve) => ch.once("error", (err: Error) => resolve(err.message)));
        await what(ch).catch(() => undefined);
        return Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve("not refused"), 5_000))]);
      };
      // Reading the gatekeeper's queue, declaring it, binding to a topic that is not ours.
      expect(await attempt((ch) => ch.consume("atomic-ci.gatekeeper", () => undefined))).toMatch(/ACCESS_REFUSED - access to queue 'atomic-ci.gatekeeper'/);
      expect(await attempt((ch) => ch.assertQueue("atomic-ci.gatekeeper", { durable: true, arguments: { "x-queue-type": "quorum" } }))).toMatch(/ACCESS_REFUSED/);
      expect(await attempt((ch) => ch.bindQueue("atomic-ci.composer", "amq.topic", "#.greenwave.decision.update"))).toMatch(/ACCESS_REFUSED - access to topic '#.greenwave.decision.update'/);
      // A forged user_id: RabbitMQ checks it against the connection's user.
      const forged = await attempt(
        (ch) =>
          new Promise((resolve, reject) => {
            ch.publish("amq.topic", `${PREFIX}.${composeTopic("complete")}`, Buffer.from("{}"), { userId: "atomic-ci-gatekeeper" }, (err: unknown) => (err instanceof Error ? reject(err) : err ? reject(new Error("publish refused")) : resolve(undefined)));
          }),
      );
      expect(forged).toMatch(/PRECONDITION_FAILED - user_id property set to 'atomic-ci-gatekeeper' but authenticated user was 'atomic-ci-composer'/);
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it("lets a service dead-letter what it cannot read (its copy goes through the default exchange)", async () => {
    const connection = await amqp.connect(urlOf(WATCH_USER));
    try {
      const ch = await connection.createConfirmChannel();
      await new Promise<void>((resolve, reject) => {
        ch.publish("amq.topic", `${PREFIX}.${CHANGE_SET_QUEUED_TOPIC}`, Buffer.from('{"not":"a change set"}'), { contentType: "application/json", headers: { fedora_messaging_schema: "atomic_ci.pipeline.ChangeSetQueuedV1" } }, (err: unknown) =>
          err instanceof Error ? reject(err) : resolve(),
        );
      });
      const deadline = Date.now() + 30_000;
      let count = 0;
      while (Date.now() < deadline && count === 0) {
        count = (await ch.checkQueue("atomic-ci.composer.dead-letter")).messageCount;
        if (count === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(count).toBe(1);
      const copy = await ch.get("atomic-ci.composer.dead-letter", { noAck: true });
      if (!copy) throw new Error("the dead-letter queue is empty");
      expect(copy.properties.headers?.["x-atomic-ci-dead-letter-consumer"]).toBe("atomic-ci.composer");
      expect(copy.properties.headers?.["x-atomic-ci-dead-letter-reason"]).toEqual(expect.any(String));
      // Sent over the composer's connection, so it carries the composer's user.
      expect(copy.properties.userId).toBe("atomic-ci-composer");
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it("puts the definitions' policies on the queues the services declared", async () => {
    const policies = await queuePolicies(vhost);
    for (const name of ["trigger-listener", "composer", "gatekeeper"]) {
      expect(policies[`atomic-ci.${name}`], name).toBe(`atomic-ci.${name}`);
      expect(policies[`atomic-ci.${name}.dead-letter`], name).toBe("atomic-ci.dead-letters");
    }
  });

  function gatekeeperApiPort(): number {
    const port = gatekeeperDefinition.running?.apiPort;
    if (port === undefined) throw new Error("the gatekeeper's API is not running");
    return port;
  }
});
