// `pnpm exec tsx test/chaos/run.ts [--runs 20] [--seed N] [--kills N] [--no-broker-restart]
// [--no-redis-restart] [--no-images] [--timeout-minutes 40] [--keep] [--json]`: the chaos suite
// (docs/chaos.md). Exit 0 when every check held, 1 otherwise; the counts are printed either way.
import { parseArgs } from "node:util";
import { runChaos } from "./chaos.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "20" },
    seed: { type: "string" },
    kills: { type: "string" },
    "no-broker-restart": { type: "boolean", default: false },
    "no-redis-restart": { type: "boolean", default: false },
    "no-images": { type: "boolean", default: false },
    "timeout-minutes": { type: "string", default: "40" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  process.stderr.write("usage: run.ts [--runs N] [--seed N] [--kills N] [--no-broker-restart] [--no-redis-restart] [--no-images] [--timeout-minutes M] [--keep] [--json]\n");
  process.exit(2);
}
const env = process.env;
const report = await runChaos({
  runs,
  seed,
  ...(values.kills !== undefined ? { kills: Number(values.kills) } : {}),
  restartBroker: !values["no-broker-restart"],
  restartRedis: !values["no-redis-restart"],
  images: !values["no-images"],
  amqpUrl: env["ATOMIC_CI_TEST_AMQP_URL"] ?? env["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672",
  redisUrl: env["ATOMIC_CI_TEST_REDIS_URL"] ?? env["REDIS_URL"] ?? "redis://127.0.0.1:6379",
  env,
  timeoutMs: Number(values["timeout-minutes"]) * 60_000,
  keep: values.keep,
  say: values.json ? undefined : (line) => process.stdout.write(`${line}\n`),
});

if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
else {
  const kv = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  const lines = [
    "",
    `chaos: seed ${report.seed}, ${report.seconds} s${report.problems.length === 0 ? "" : `, run directory kept: ${report.dir}`}`,
    `  triggers        ${report.triggers.sent} sent (${kv(report.triggers.byKind)}): ${report.triggers.changeSet} made change sets, ignored: ${kv(report.triggers.ignored)}, unaccounted ${report.triggers.unaccounted.length}`,
    `  change sets     ${report.changeSets.total}: ${kv(report.changeSets.final)}`,
    `  chaos           kill -9: ${kv(report.chaos.kills)}; exited by themselves: ${kv(report.chaos.crashes)}; RabbitMQ restarts ${report.chaos.brokerRestarts}, Redis restarts ${report.chaos.redisRestarts}; watcher reconnects ${report.chaos.watcherReconnects}; triggers replayed after the Redis loss ${report.chaos.replayedAfterRedisLoss}`,
    `  releases        ${Object.entries(report.releases.byStream).map(([s, v]) => `${s}: ${v.join(" ")}`).join("; ") || "none"}; delivered messages ${report.releases.delivered} (+${report.releases.reannounced} already-promoted re-announcements); duplicates ${report.releases.duplicates.length}`,
    `  dead letters    ${kv(report.deadLetters.byQueue)}; poison sent ${report.deadLetters.poisonSent}, dead-lettered copies of them ${report.deadLetters.poison}, anything else ${report.deadLetters.other.length}`,
    `  public repo     fsck: ${kv(Object.fromEntries(Object.entries(report.repository.fsck).map(([s, r]) => [s, r === "ok" ? 1 : 0])))}; pull: ${Object.entries(report.repository.pull).map(([s, r]) => `${s} ${r}`).join("; ") || "none"}`,
  ];
  for (const o of report.deadLetters.other) lines.push(`    ✗ dead-lettered: ${o}`);
  for (const u of report.triggers.unaccounted) lines.push(`    ✗ unaccounted: ${u}`);
  for (const c of report.changeSets.notFinal) lines.push(`    ✗ not final: ${c}`);
  lines.push(report.problems.length === 0 ? "  ✓ every check held" : `  ✗ ${report.problems.join("\n  ✗ ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
process.exit(report.problems.length === 0 ? 0 : 1);
