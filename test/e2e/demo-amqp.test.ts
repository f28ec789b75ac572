// `npm run demo -- --bus amqp --json` end to end: one OS process per service on the real
// RabbitMQ and Redis, the same checks as the embedded mode, and nothing of the run left behind:
// no process, no queue, no exchange, no Redis key.
import amqp from "amqplib";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { testServices } from "../support/index.js";
import { checkComposes, checkDelivery, checkGating, runDemo } from "./demo.js";

interface RunReport {
  exchange: string;
  queues: string[];
  redis_prefix: string;
  processes: { service: string; pid: number | null; log: string; exit_code: number | null; signal: string | null }[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("atomic-ci demo --bus amqp --json", () => {
  it("runs each service as its own process on RabbitMQ and Redis, shows the same, and cleans up after itself", async () => {
    const { amqpUrl: AMQP_URL, redisUrl: REDIS_URL } = testServices();
    const { code, stdout, stderr, summary } = await runDemo(["--bus", "amqp", "--amqp-url", AMQP_URL, "--redis-url", REDIS_URL], 480_000);
    expect(summary.ok, `${summary.error ?? ""}\n${stdout.slice(-6000)}\n${stderr.slice(-3000)}`).toBe(true);
    expect(code).toBe(0);
    expect(summary.bus).toBe("amqp");
    await checkComposes(summary);
    checkGating(summary);
    await checkDelivery(summary);

    const report = summary.run as unknown as RunReport;
    expect(report.processes.map((p) => p.service).sort()).toEqual(["composer", "gatekeeper", "image-builder", "publisher", "test-runner", "trigger-listener"]);
    for (const p of report.processes) {
      expect(p.pid).toBeTypeOf("number");
      expect(alive(p.pid ?? 0), `${p.service} (pid ${p.pid}) still runs`).toBe(false);
    }
    const connection = await amqp.connect(AMQP_URL);
    try {
      for (const name of [...report.queues, report.exchange]) {
        // A passive declare of something deleted closes the channel with 404.
        const channel = await connection.createChannel();
        channel.on("error", () => undefined);
        const check = name === report.exchange ? channel.checkExchange(name) : channel.checkQueue(name);
        await expect(check, `${name} is left on the broker`).rejects.toThrow(/404|NOT_FOUND/);
      }
    } finally {
      await connection.close().catch(() => undefined);
    }
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.keys(`${report.redis_prefix}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 540_000);
});
