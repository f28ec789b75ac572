// The abuse suite (issue #6 item 6): ≥ 1,000 generated hostile messages across every consumer,
// on the in-memory bus with all six services on the fixture world, plus a pass through
// RabbitMQ for what only the wire can carry (content type, encoding, user_id). No service
// crashes or goes unready; every delivery ends dead-lettered with a reason header, ignored with
// a logged reason, refused by the broker, or accepted as a schema-valid message; nothing is
// written outside the temp root. ABUSE_SEED replays a run; the seed is printed.
import { describe, expect, it } from "vitest";
import { testServices } from "../support/index.js";
import { formatTable, runAbuse, type AbuseReport } from "./suite.js";

describe("abuse suite", () => {
  it("survives 1,000+ hostile messages and accounts for every delivery", async () => {
    const seedText = process.env["ABUSE_SEED"];
    const report: AbuseReport = await runAbuse({
      count: 1050,
      amqpCount: 40,
      amqpUrl: testServices().amqpUrl,
      ...(seedText === undefined ? {} : { seed: Number(seedText) }),
      log: (line) => console.log(line),
    });
    console.log(`seed ${report.seed}\n${formatTable(report)}`);
    expect(report.messages).toBeGreaterThanOrEqual(1000);
    expect(report.crashes).toEqual([]);
    expect(report.unhealthy).toEqual([]);
    expect(report.outside).toEqual([]);
    expect(report.prototypePolluted).toBe(false);
    const unaccounted = report.deliveries.filter((d) => d.outcome === "acked-silently" || d.outcome === "pending");
    expect(unaccounted.map((d) => `${d.outcome} ${d.consumer} ${d.topic} ${d.mutations.join(",")}`)).toEqual([]);
    // Every consumer saw hostile input, and the broker refused the forged gatekeeper user_id.
    const consumers = new Set(report.deliveries.map((d) => d.consumer));
    expect([...consumers].sort()).toEqual(["composer", "gatekeeper", "image-builder", "publisher", "test-runner", "trigger-listener"]);
    expect(report.deliveries.some((d) => d.outcome === "refused-by-broker" && d.mutations.includes("forged-user-id:atomic-ci-gatekeeper"))).toBe(true);
    // A schema-valid compose.complete naming a repository or commit that is not there is refused at
    // once (dropped, with its reason) or, its repository unreachable, retried and then reported:
    // never left to the delivery limit (the image-builder once retried them all as infrastructure errors).
    const maxed = report.deliveries.filter((d) => d.consumer === "image-builder" && d.outcome === "dead-lettered" && d.reason === "max-deliveries");
    expect(maxed.map((d) => `${d.topic} ${d.mutations.join(",")}`)).toEqual([]);
    // Every result and waiver the gatekeeper stores is logged ("result stored", "waiver stored"): none is accepted without a word.
    const silentStores = report.deliveries.filter((d) => d.consumer === "gatekeeper" && d.outcome === "accepted" && /(resultsdb\.result|waiverdb\.waiver)\.new$/.test(d.topic));
    expect(silentStores.map((d) => `${d.topic} ${d.mutations.join(",")}`)).toEqual([]);
    // Most of it never gets past the consumer's decode and validation.
    expect(report.deliveries.filter((d) => d.outcome === "dead-lettered").length).toBeGreaterThan(report.deliveries.length / 2);
  }, 1_500_000);
});
