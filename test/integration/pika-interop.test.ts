// Interoperability with the Python side of Fedora messaging: pika (what fedora-messaging is
// built on) publishes to our consumer, and reads what we publish. Needs python3-pika in the
// Python named by ATOMIC_CI_PYTHON (default /usr/bin/python3); without it this suite fails.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connect, type ChannelModel } from "amqplib";
import { AmqpTransport, Bus, MemoryIdempotencyStore, type BusMessage } from "@atomic-ci/bus";
import { defaultRegistry } from "@atomic-ci/messages";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/index.js";

const run = promisify(execFile);
const PYTHON = process.env["ATOMIC_CI_PYTHON"] ?? "/usr/bin/python3";
const SCRIPTS = fileURLToPath(new URL("./pika/", import.meta.url));
const FIXTURE = process.env["ATOMIC_CI_SHARED_DIR"]
  ? join(process.env["ATOMIC_CI_SHARED_DIR"], "fixtures", "fedora-messages", "buildsys.build.state.change.json")
  : fileURLToPath(new URL("../../../shared/fixtures/fedora-messages/buildsys.build.state.change.json", import.meta.url));
const ROUTING_KEY = "org.fedoraproject.prod.buildsys.build.state.change";
const KOJI_SCHEMA = "koji_fedoramessaging.build.BuildStateChangeV1";

interface Fixture {
  body: Record<string, unknown>;
}

async function python(script: string, args: string[]): Promise<unknown> {
  const { stdout } = await run(PYTHON, [join(SCRIPTS, script), ...args], { timeout: 30_000 });
  return JSON.parse(stdout) as unknown;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface PikaView {
  exchange: string;
  routing_key: string;
  properties: Record<string, unknown>;
  headers: Record<string, unknown>;
  header_types: Record<string, string>;
  body: unknown;
  checks: Record<string, boolean>;
}

/** A queue bound to the koji routing key, for pika to read from (deleted after the test). */
async function pikaQueue(): Promise<string> {
  const queue = uniqueName("us-to-pika");
  queues.push(queue);
  if (!raw) throw new Error("no raw AMQP connection");
  const ch = await raw.createChannel();
  await ch.assertQueue(queue, { durable: false });
  await ch.bindQueue(queue, "amq.topic", ROUTING_KEY);
  await ch.close();
  return queue;
}

async function pikaRead(queue: string): Promise<PikaView> {
  return (await python("consume.py", [testServices().amqpUrl, queue, "10"])) as PikaView;
}

/** Everything a fedora-messaging consumer relies on, as pika decoded it. */
function expectFedoraMessaging(seen: PikaView, id: string, body: unknown): void {
  expect(seen.exchange).toBe("amq.topic");
  expect(seen.routing_key).toBe(ROUTING_KEY);
  expect(seen.properties).toMatchObject({ content_type: "application/json", content_encoding: "utf-8", delivery_mode: 2, message_id: id });
  expect(seen.checks).toEqual({ message_id_is_uuid4: true, sent_at_parses: true, severity_is_int: true });
  expect(seen.headers).toMatchObject({
    fedora_messaging_schema: KOJI_SCHEMA,
    fedora_messaging_schema_package: "koji_fedoramessaging_messages",
    fedora_messaging_severity: 20,
    priority: 0,
    fedora_messaging_user_spot: true,
    "fedora_messaging_rpm_prusa-slicer": true,
  });
  expect(seen.header_types).toMatchObject({
    fedora_messaging_schema: "str",
    fedora_messaging_severity: "int",
    "sent-at": "str",
    fedora_messaging_user_spot: "bool",
    "fedora_messaging_rpm_prusa-slicer": "bool",
  });
  expect(seen.body).toEqual(body);
}

let raw: ChannelModel | undefined;
const queues: string[] = [];
const closers: (() => Promise<void>)[] = [];

function newBus(): Bus {
  const transport = new AmqpTransport({ url: testServices().amqpUrl, clientProperties: { connection_name: "atomic-ci pika interop test" } });
  const bus = new Bus(
    { transport, registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics: createMetrics(), logger: silentLogger() },
    { topicPrefix: "org.fedoraproject.prod" },
  );
  closers.push(() => bus.close());
  return bus;
}

beforeAll(async () => {
  try {
    await run(PYTHON, ["-c", "import pika"], { timeout: 30_000 });
  } catch (err) {
    throw new Error(
      `pika interop tests need python3-pika importable by ${PYTHON}: install it (Debian/Ubuntu: apt-get install python3-pika; Fedora: dnf install python3-pika) ` +
        `or set ATOMIC_CI_PYTHON to a Python that has it. (${(err as Error).message.split("\n")[0] ?? ""})`,
    );
  }
  raw = await connect(testServices().amqpUrl);
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
  if (!raw) return;
  const ch = await raw.createChannel();
  for (const q of queues.splice(0)) await ch.deleteQueue(q).catch(() => undefined);
  await ch.close();
});

afterAll(async () => {
  await raw?.close();
});

describe("interoperability with python3-pika (fedora-messaging's wire format)", () => {
  it("decodes a koji message published by pika the way fedora-messaging publishes it", async () => {
    const queue = uniqueName("pika-to-us");
    queues.push(queue, `${queue}.dead-letter`);
    const bus = newBus();
    const seen: BusMessage[] = [];
    // Bound before pika publishes: the publish is mandatory and would be returned otherwise.
    await bus.consume({ queue, bindings: [ROUTING_KEY], handler: (m) => { seen.push(m); return Promise.resolve(); } });

    const sent = (await python("publish.py", [testServices().amqpUrl, ROUTING_KEY, FIXTURE])) as { id: string; sent_at: string };
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);

    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;
    const message = seen[0] as BusMessage;
    expect(message.id).toBe(sent.id);
    expect(message.topic).toBe(ROUTING_KEY);
    expect(message.schema).toBe(KOJI_SCHEMA);
    expect(message.severity).toBe(20);
    expect(message.sentAt).toBe(sent.sent_at);
    expect(message.body).toEqual(fixture.body);
    expect(message.headers).toMatchObject({ fedora_messaging_user_spot: true, "fedora_messaging_rpm_prusa-slicer": true });
  });

  it("publishes (Bus.publish) what a pika consumer reads as a fedora-messaging message", async () => {
    const queue = await pikaQueue();
    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;
    const published = await newBus().publish("buildsys.build.state.change", fixture.body);
    expectFedoraMessaging(await pikaRead(queue), published.id, fixture.body);
  });

  it("publishes (CLI `messages publish`) what a pika consumer reads as a fedora-messaging message", async () => {
    const queue = await pikaQueue();
    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;
    const { stdout } = await run("pnpm", ["--silent", "atomic-ci", "messages", "publish", FIXTURE, "--topic", "buildsys.build.state.change", "--prefix", "org.fedoraproject.prod"], {
      cwd: REPO_ROOT,
      env: { ...process.env, AMQP_URL: testServices().amqpUrl },
      timeout: 60_000,
    });
    const id = /published (\S+) to /.exec(stdout)?.[1];
    expect(id, stdout).toBeDefined();
    expectFedoraMessaging(await pikaRead(queue), id ?? "", fixture.body);
  });
});
