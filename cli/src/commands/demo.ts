import { mkdirSync, createWriteStream } from "node:fs";
import { join } from "node:path";
import { DEAD_LETTER_HEADERS, encodeMessage } from "@atomic-ci/bus";
import { BASE_MESSAGE, prefixTopic } from "@atomic-ci/messages";
import { queueOf, readyCounters, runServices } from "@atomic-ci/runtime";
import { DEMO_MESSAGES } from "../demo/messages.js";
import { EXIT } from "../errors.js";
import { SERVICES } from "../services.js";

const PREFIX = "org.fedoraproject.prod";

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/**
 * The embedded default: every service in this process on the in-memory bus, fed messages
 * shaped like Fedora's. Today it shows the bus itself (routing, validation, dead-lettering,
 * counters, orderly shutdown); later stages join as they are built.
 */
export async function demoCommand(options: { logDir?: string } = {}): Promise<number> {
  const logDir = options.logDir ?? join(process.cwd(), ".cache", "demo");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, "services.log");
  const logs = createWriteStream(logFile, { flags: "w" });

  say("atomic-ci demo: the six services in one process on the embedded (in-memory) bus");
  const group = await runServices(
    Object.values(SERVICES).map((create) => create()),
    { config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 } } }, logDestination: logs, processMetrics: false },
  );
  for (const s of group.services) {
    say(`  ${s.name.padEnd(17)} queue ${queueOf(s.config).padEnd(28)} /ready on http://127.0.0.1:${s.httpPort}/ready  bindings: ${s.config.bus.bindings.length}`);
  }
  const listener = group.services[0];
  if (!listener) throw new Error("trigger-listener did not start");

  say();
  say("Sending messages shaped like Fedora's (topic prefix org.fedoraproject.prod):");
  for (const m of DEMO_MESSAGES) {
    if (m.body !== undefined) {
      const published = await listener.bus.publish(m.topic, m.body, { topicPrefix: PREFIX });
      say(`  ✓ ${m.label}\n      ${published.routingKey}  id ${published.id}  schema ${published.schema}`);
    } else if (m.raw) {
      // Past our publisher's validation, the way a broken client would send it.
      const wire = encodeMessage(BASE_MESSAGE, {}, { routingKey: prefixTopic(PREFIX, m.topic) });
      wire.body = Buffer.from(m.raw.body, "utf8");
      wire.properties.contentType = m.raw.contentType;
      await listener.bus.transport.send(wire, "amq.topic");
      say(`  ✗ ${m.label} (raw, unvalidated)`);
    }
  }

  // Every message is settled once it was processed (acked) or dead-lettered.
  const expected = DEMO_MESSAGES.length;
  const settled = async () => {
    const c = await readyCounters(listener.metrics);
    return c.processed + c.dropped >= expected;
  };
  const deadline = Date.now() + 10_000;
  while (!(await settled()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

  const counters = await readyCounters(listener.metrics);
  say();
  say(`trigger-listener counters: ${JSON.stringify(counters)}`);
  const deadLetterQueue = `${queueOf(listener.config)}.dead-letter`;
  const dead = group.broker.peek(deadLetterQueue);
  say(`Dead-letter queue ${deadLetterQueue} holds ${dead.length} message(s), each with its reason:`);
  for (const d of dead) {
    say(`  - ${String(d.properties.headers[DEAD_LETTER_HEADERS.reason])}: ${String(d.properties.headers[DEAD_LETTER_HEADERS.detail]).slice(0, 140)}`);
  }
  const ready = await fetch(`http://127.0.0.1:${listener.httpPort}/ready`);
  say(`GET /ready → ${ready.status} ${await ready.text()}`);

  const result = await group.shutdown("demo finished");
  say();
  say(`Shutdown (${result.exitCode === 0 ? "clean" : `exit ${result.exitCode}`}): ${result.steps.slice(0, 6).join(" → ")} ...`);
  say(`Service logs (JSON, one line per event, message id on each): ${logFile}`);
  logs.end();

  const ok = counters.processed === expected - dead.length && dead.length === DEMO_MESSAGES.filter((m) => m.raw).length;
  return ok ? EXIT.ok : EXIT.failure;
}
