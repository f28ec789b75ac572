import { execFile } from "node:child_process";
import { connect } from "node:net";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { DEFAULT_TEST_SERVICES, type TestServices } from "./services.js";

const run = promisify(execFile);

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port || defaultPort);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port, timeout: 2000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function dockerEngineAvailable(): Promise<boolean> {
  try {
    await run("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

interface Needed {
  name: "RabbitMQ" | "Redis" | "NATS";
  key: "amqpUrl" | "redisUrl" | "natsUrl";
  port: number;
}

const NEEDED: Needed[] = [
  { name: "RabbitMQ", key: "amqpUrl", port: 5672 },
  { name: "Redis", key: "redisUrl", port: 6379 },
  { name: "NATS", key: "natsUrl", port: 4222 },
];

/**
 * Finds RabbitMQ, Redis and NATS; starts the missing ones with testcontainers when a Docker
 * engine is there; otherwise fails naming what is missing. It never lets the suite skip.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services: TestServices = { ...DEFAULT_TEST_SERVICES };
  const missing: Needed[] = [];
  for (const need of NEEDED) {
    if (!(await reachable(services[need.key], need.port))) missing.push(need);
  }
  const stops: (() => Promise<unknown>)[] = [];
  if (missing.length > 0) {
    if (!(await dockerEngineAvailable())) {
      throw new Error(
        `integration tests need ${missing.map((m) => `${m.name} at ${services[m.key]}`).join(", ")}; ` +
          "none is reachable and there is no Docker engine for testcontainers. Start them (README: Services) or set " +
          "ATOMIC_CI_TEST_AMQP_URL / ATOMIC_CI_TEST_REDIS_URL / ATOMIC_CI_TEST_NATS_URL.",
      );
    }
    const { GenericContainer, Wait } = await import("testcontainers");
    for (const need of missing) {
      if (need.name === "RabbitMQ") {
        const c = await new GenericContainer("rabbitmq:3.13-alpine").withExposedPorts(5672).withWaitStrategy(Wait.forLogMessage("Server startup complete")).start();
        services.amqpUrl = `amqp://guest:guest@${c.getHost()}:${c.getMappedPort(5672)}`;
        stops.push(() => c.stop());
      } else if (need.name === "Redis") {
        const c = await new GenericContainer("redis:7-alpine").withExposedPorts(6379).start();
        services.redisUrl = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
        stops.push(() => c.stop());
      } else {
        const c = await new GenericContainer("nats:2-alpine").withCommand(["-js"]).withExposedPorts(4222).start();
        services.natsUrl = `nats://${c.getHost()}:${c.getMappedPort(4222)}`;
        stops.push(() => c.stop());
      }
    }
  }
  project.provide("services", services);
  return async () => {
    await Promise.all(stops.map((s) => s()));
  };
}
