// `pnpm exec tsx test/abuse/run.ts [--count N] [--amqp-count N] [--seed S]`: run the abuse suite
// and print the counts (consumer × outcome), the most frequent reasons, and any finding.
// Exit 0 when nothing crashed, nothing was written outside the roots and every delivery is
// accounted for; 1 otherwise. ABUSE_SEED replays a run.
import { parseArgs } from "node:util";
import { formatTable, reasonCounts, runAbuse } from "./suite.js";

const { values } = parseArgs({ options: { count: { type: "string" }, "amqp-count": { type: "string" }, seed: { type: "string" } } });
const seedText = values.seed ?? process.env["ABUSE_SEED"];
const report = await runAbuse({
  ...(seedText === undefined ? {} : { seed: Number(seedText) }),
  ...(values.count === undefined ? {} : { count: Number(values.count) }),
  ...(values["amqp-count"] === undefined ? {} : { amqpCount: Number(values["amqp-count"]) }),
  ...(process.env["AMQP_URL"] ? { amqpUrl: process.env["AMQP_URL"] } : {}),
  log: (line) => process.stdout.write(`${line}\n`),
});
const out = (line = "") => process.stdout.write(`${line}\n`);
out();
out(`seed ${report.seed}: ${report.messages} messages, ${report.deliveries.length} deliveries, ${report.seconds} s`);
out();
out(formatTable(report));
for (const outcome of ["dead-lettered", "ignored", "refused-by-broker"] as const) {
  const top = reasonCounts(report, outcome);
  if (top.length === 0) continue;
  out();
  out(`${outcome}, top reasons:`);
  for (const [reason, n] of top) out(`  ${String(n).padStart(5)}  ${reason}`);
}
const accepted = new Map<string, number>();
for (const d of report.deliveries.filter((x) => x.outcome === "accepted")) accepted.set(`${d.consumer} ${d.topic}`, (accepted.get(`${d.consumer} ${d.topic}`) ?? 0) + 1);
if (accepted.size > 0) {
  out();
  out("accepted (schema-valid, acked with nothing logged), by consumer and topic:");
  for (const [what, n] of [...accepted.entries()].sort((a, b) => b[1] - a[1])) out(`  ${String(n).padStart(5)}  ${what}`);
}
const silent = report.deliveries.filter((d) => d.outcome === "acked-silently" || d.outcome === "pending");
const bySilent = new Map<string, number>();
for (const d of silent) bySilent.set(`${d.outcome} ${d.consumer} ${d.topic} [${d.mutations.join(", ").slice(0, 80)}]`, (bySilent.get(`${d.outcome} ${d.consumer} ${d.topic} [${d.mutations.join(", ").slice(0, 80)}]`) ?? 0) + 1);
if (bySilent.size > 0) {
  out();
  out("FINDINGS: deliveries with no reason (acked silently) or never settled:");
  for (const [what, n] of [...bySilent.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) out(`  ${String(n).padStart(5)}  ${what}`);
}
out();
out(`crashes: ${report.crashes.length}; unhealthy: ${report.unhealthy.length}; written outside the roots: ${report.outside.length}; marker files inside the root: ${report.insideRoot.length}; prototype polluted: ${report.prototypePolluted}`);
for (const line of [...report.crashes, ...report.unhealthy, ...report.outside]) out(`  ${line.split("\n")[0]}`);
process.exitCode = report.crashes.length + report.unhealthy.length + report.outside.length + silent.length > 0 || report.prototypePolluted ? 1 : 0;
