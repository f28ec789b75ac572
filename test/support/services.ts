/**
 * Where the integration tests find RabbitMQ, Redis and NATS. Defaults are the 127.0.0.1
 * services of a developer machine or CI; each can be overridden by env.
 */
export interface TestServices {
  amqpUrl: string;
  redisUrl: string;
  natsUrl: string;
  /** RabbitMQ management API base, used to inspect queues (optional). */
  amqpManagementUrl?: string;
}

export const DEFAULT_TEST_SERVICES: TestServices = {
  amqpUrl: process.env["ATOMIC_CI_TEST_AMQP_URL"] ?? process.env["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672",
  redisUrl: process.env["ATOMIC_CI_TEST_REDIS_URL"] ?? process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379",
  natsUrl: process.env["ATOMIC_CI_TEST_NATS_URL"] ?? process.env["NATS_URL"] ?? "nats://127.0.0.1:4222",
};

declare module "vitest" {
  export interface ProvidedContext {
    services: TestServices;
  }
}
