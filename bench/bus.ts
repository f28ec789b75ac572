/**
 * `pnpm bench:bus`: the AMQP bus against bare amqplib, on the real broker, in one run.
 *   (a) consume: 20,000 pre-loaded ~2 KiB koji messages drained by a bare consume-and-ack
 *       loop vs `Bus.consume` (decode, validate, idempotency with the memory store, and with
 *       the Redis store); (b) publish 20,000 with confirms: a pipelined ConfirmChannel vs
 *       `Bus.publish` with up to 1,000 outstanding. Prints msgs/s and ours/bare ratios.
 * Env: AMQP_URL, REDIS_URL, BENCH_COUNT, BENCH_ROUNDS.
 */
import { randomUUID } from "node:crypto";
import { connect, type Channel, type ChannelModel } from "amqplib";
import {
  AmqpTransport,
  Bus,
  MemoryIdempotencyStore,
  RedisIdempotencyStore,
  encodeMessage,
  type IdempotencyStore,
} from "@atomic-ci/bus";
import { KojiBuildStateChangeMessage, defaultRegistry } from "@atomic-ci/messages";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";

const AMQP_URL = process.env["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
const COUNT = Number(process.env["BENCH_COUNT"] ?? 20_000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const PREFETCH = 100;
const WINDOW = 1000;
const TARGETS = { consume: 0.7, publish: 0.8 };
const RUN = `bench-${Date.now().toString(36)}`;
const TOPIC = "buildsys.build.state.change";
/** Each queue has its own topic prefix, so it only gets the messages meant for it. */
const prefixOf = (queue: string) => `org.atomic-ci.${queue}`;
const keyOf = (queue: string) => `${prefixOf(queue)}.${TOPIC}`;
const QUEUE_ARGS = { "x-queue-type": "quorum" };

/** A valid BuildStateChangeV1 body of about 2 KiB (koji's free-form `request` options carry the padding). */
function kojiBody(): Record<string, unknown> {
  const body = {
    build_id: 2860061,
    name: "prusa-slicer",
    version: "2.9.4",
    release: "1.fc44",
    epoch: null,
    owner: "spot",
    instance: "primary",
    attribute: "state",
    old: 0,
    new: 1,
    request: ["git+https://src.fedoraproject.org/rpms/prusa-slicer.git#ddbac739fc9482082b06028e5606f74c06e1db07", "rawhide", { note: "" }],
    task_id: 139004033,
    task: null,
    creation_time: "2025-11-17T13:10:36.335964+00:00",
    completion_time: "2025-11-17T14:42:01.741593+00:00",
    url: "https://koji.fedoraproject.org/koji/buildinfo?buildID=2860061",
    base_url: "https://koji.fedoraproject.org",
    files_base_url: "https://kojipkgs.fedoraproject.org/work",
  };
  const size = Buffer.byteLength(JSON.stringify(body));
  (body.request[2] as { note: string }).note = "x".repeat(Math.max(0, 2048 - size));
  return body;
}

const BODY = kojiBody();
const deps = (idempotency: IdempotencyStore) => ({ registry: defaultRegistry, idempotency, metrics: createMetrics(), logger: silentLogger() });

async function declare(ch: Channel, queue: string): Promise<void> {
  await ch.assertQueue(queue, { durable: true, arguments: QUEUE_ARGS });
  await ch.bindQueue(queue, "amq.topic", keyOf(queue));
}

/** Fill a queue with `n` distinct, valid messages in the fedora-messaging wire format. */
async function preload(model: ChannelModel, queue: string, n: number): Promise<void> {
  const ch = await model.createConfirmChannel();
  await declare(ch, queue);
  const wire = encodeMessage(KojiBuildStateChangeMessage, BODY as never, { routingKey: keyOf(queue) });
  const p = wire.properties;
  for (let i = 0; i < n; i++) {
    ch.publish("amq.topic", keyOf(queue), wire.body, { contentType: p.contentType, contentEncoding: p.contentEncoding, messageId: randomUUID(), persistent: true, headers: p.headers });
    if (i % 1000 === 999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  await ch.close();
}

/** Bare amqplib: consume with prefetch, ack each message; timed from consume to the last ack. */
async function bareConsume(model: ChannelModel, queue: string, n: number): Promise<Sample> {
  const ch = await model.createChannel();
  await ch.prefetch(PREFETCH);
  let seen = 0;
  const sample = await measure(n, () =>
    new Promise<void>((resolve) => {
      void ch.consume(queue, (msg) => {
        if (!msg) return;
        ch.ack(msg);
        if (++seen === n) resolve();
      });
    }),
  );
  await ch.close();
  return sample;
}

/** Our consumer through the Bus (connected beforehand); timed from consume to the last settle. */
async function busConsume(queue: string, n: number, idempotency: IdempotencyStore): Promise<Sample> {
  const transport = new AmqpTransport({ url: AMQP_URL, clientProperties: { connection_name: "atomic-ci bench consume" } });
  const bus = new Bus({ transport, ...deps(idempotency) }, { topicPrefix: prefixOf(queue) });
  await bus.connect();
  let seen = 0;
  const sample = await measure(n, async () => {
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await bus.consume({ queue, bindings: [keyOf(queue)], prefetch: PREFETCH, handler: () => { if (++seen === n) done(); return Promise.resolve(); } });
    await finished;
    await bus.stopConsuming(); // waits until the last message is settled
  });
  await bus.close();
  return sample;
}

/** Bare amqplib: publish all on a ConfirmChannel, then wait for the confirms. */
async function barePublish(model: ChannelModel, sink: string, n: number): Promise<Sample> {
  const ch = await model.createConfirmChannel();
  const wire = encodeMessage(KojiBuildStateChangeMessage, BODY as never, { routingKey: keyOf(sink) });
  const p = wire.properties;
  const sample = await measure(n, async () => {
    for (let i = 0; i < n; i++) {
      ch.publish("amq.topic", keyOf(sink), wire.body, { contentType: p.contentType, contentEncoding: p.contentEncoding, messageId: randomUUID(), persistent: true, mandatory: true, headers: p.headers });
    }
    await ch.waitForConfirms();
  });
  await ch.close();
  return sample;
}

/** `Bus.publish` (validate, encode, confirm) keeping up to WINDOW publishes outstanding. */
async function busPublish(sink: string, n: number): Promise<Sample> {
  const transport = new AmqpTransport({ url: AMQP_URL, clientProperties: { connection_name: "atomic-ci bench publish" } });
  const bus = new Bus({ transport, ...deps(new MemoryIdempotencyStore()) }, { topicPrefix: prefixOf(sink) });
  await bus.connect();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      await bus.publish(TOPIC, BODY);
    }
  };
  const sample = await measure(n, async () => {
    await Promise.all(Array.from({ length: WINDOW }, worker));
  });
  await bus.close();
  return sample;
}

interface Sample {
  /** msgs/s */
  rate: number;
  /** client (this process) CPU microseconds per message */
  cpuUs: number;
}

/** Time `fn` (which handles `n` messages) in wall-clock and in this process's CPU. */
async function measure(n: number, fn: () => Promise<void>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { rate: n / seconds, cpuUs: (used.user + used.system) / n };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (r: number) => `${Math.round(r).toLocaleString("en-US").padStart(7)} msgs/s`;

function report(label: string, samples: Sample[]): Sample {
  const m = { rate: median(samples.map((x) => x.rate)), cpuUs: median(samples.map((x) => x.cpuUs)) };
  const rounds = samples.map((x) => Math.round(x.rate)).join(", ");
  console.log(`  ${label.padEnd(26)} ${fmt(m.rate)}  client CPU ${m.cpuUs.toFixed(1).padStart(5)} µs/msg   (rounds: ${rounds})`);
  return m;
}

/** The median of the per-round ratios: each round's pair ran back to back, so shared-machine drift cancels out. */
function verdict(name: string, pairs: { bare: Sample[]; ours: Sample[] }, target: number): boolean {
  const ratios = pairs.ours.map((o, i) => o.rate / (pairs.bare[i]?.rate ?? Number.NaN));
  const ratio = median(ratios);
  const ok = ratio >= target;
  const each = ratios.map((r) => r.toFixed(2)).join(", ");
  console.log(`  ${name.padEnd(8)} ours/bare = ${ratio.toFixed(2)}  (target >= ${target})  ${ok ? "MET" : "NOT MET"}   (rounds: ${each})`);
  return ok;
}

/** Run both sides once per round, alternating which goes first (the broker's state drifts). */
async function rounds(n: number, bare: () => Promise<Sample>, ours: () => Promise<Sample>): Promise<{ bare: Sample[]; ours: Sample[] }> {
  const out = { bare: [] as Sample[], ours: [] as Sample[] };
  for (let r = 0; r < n; r++) {
    if (r % 2 === 0) {
      out.bare.push(await bare());
      out.ours.push(await ours());
    } else {
      out.ours.push(await ours());
      out.bare.push(await bare());
    }
  }
  return out;
}

/** Remove the idempotency keys this run wrote. */
async function deleteKeys(store: RedisIdempotencyStore, match: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await store.client.scan(cursor, "MATCH", match, "COUNT", 1000);
    if (keys.length > 0) await store.client.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

async function main(): Promise<void> {
  const model = await connect(AMQP_URL);
  const admin = await model.createChannel();
  const queues: string[] = [];
  let serial = 0;
  const queue = (name: string) => {
    const q = `${RUN}.${name}-${serial++}`;
    queues.push(q, `${q}.dead-letter`);
    return q;
  };
  // Short retention: the bench's keys expire by themselves.
  const redis = new RedisIdempotencyStore({ url: REDIS_URL, prefix: `atomic-ci:bench:${RUN}`, retentionMs: 10 * 60_000 });
  const redisOk = await redis.connect().then(
    () => true,
    (err: unknown) => (console.log(`Redis variant skipped: ${err instanceof Error ? err.message : String(err)}`), false),
  );
  // Each consume run drains its own freshly loaded queue, deleted right after.
  const drained = async (run: (q: string) => Promise<Sample>, n = COUNT): Promise<Sample> => {
    const q = queue("consume");
    await preload(model, q, n);
    const sample = await run(q);
    await admin.deleteQueue(q);
    return sample;
  };
  try {
    console.log(`bench:bus — ${COUNT.toLocaleString("en-US")} messages of ${Buffer.byteLength(JSON.stringify(BODY))} bytes, prefetch ${PREFETCH}, quorum queues, ${ROUNDS} rounds (medians)`);
    const sink = queue("sink");
    await declare(admin, sink);
    // Warm-up (JIT, broker): not measured.
    await drained((q) => busConsume(q, 2000, new MemoryIdempotencyStore()), 2000);
    await drained((q) => bareConsume(model, q, 2000), 2000);
    await barePublish(model, sink, 2000);
    await busPublish(sink, 2000);
    await admin.purgeQueue(sink);

    console.log("\n(a) consume and ack");
    const consume = await rounds(
      ROUNDS,
      () => drained((q) => bareConsume(model, q, COUNT)),
      () => drained((q) => busConsume(q, COUNT, new MemoryIdempotencyStore())),
    );
    const bareC = report("bare amqplib", consume.bare);
    report("Bus.consume (memory store)", consume.ours);
    const oursR = redisOk ? report("Bus.consume (Redis store)", [await drained((q) => busConsume(q, COUNT, redis))]) : undefined;

    console.log("\n(b) publish with confirms");
    const publish = await rounds(
      ROUNDS,
      async () => {
        await admin.purgeQueue(sink);
        return barePublish(model, sink, COUNT);
      },
      async () => {
        await admin.purgeQueue(sink);
        return busPublish(sink, COUNT);
      },
    );
    report("bare ConfirmChannel", publish.bare);
    report(`Bus.publish (window ${WINDOW})`, publish.ours);

    console.log("\nresults");
    const ok = [verdict("consume", consume, TARGETS.consume), verdict("publish", publish, TARGETS.publish)];
    if (oursR) console.log(`  consume with the Redis store: ours/bare = ${(oursR.rate / bareC.rate).toFixed(2)} (one round vs the bare median; informational: Redis round trips per claim and completion)`);
    process.exitCode = ok.every(Boolean) ? 0 : 1;
  } finally {
    for (const q of queues) await admin.deleteQueue(q).catch(() => undefined);
    if (redisOk) await deleteKeys(redis, `atomic-ci:bench:${RUN}:*`).catch(() => undefined);
    await redis.close().catch(() => undefined);
    await model.close();
  }
}

await main();
