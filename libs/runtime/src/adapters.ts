import {
  AmqpTransport,
  MemoryBroker,
  MemoryIdempotencyStore,
  MemoryTransport,
  NatsTransport,
  RedisIdempotencyStore,
  type IdempotencyStore,
  type Transport,
} from "@atomic-ci/bus";
import type { Logger, Metrics } from "@atomic-ci/telemetry";
import type { CommonConfig } from "./config/common.js";

export interface TransportDeps {
  logger: Logger;
  metrics: Metrics;
  /** The broker memory transports share; one per process in the all-in-one runner. */
  broker?: MemoryBroker;
}

/** The transport `bus.transport` names. Constructors validate their options (BusError CONFIG). */
export function createTransport(config: CommonConfig, deps: TransportDeps): Transport {
  const { bus } = config;
  const app = `atomic-ci ${config.service}`;
  switch (bus.transport) {
    case "memory":
      if (!deps.broker) deps.logger.warn("memory transport on a private broker: no other process or service sees these messages");
      return new MemoryTransport(deps.broker ?? new MemoryBroker());
    case "amqp": {
      // Only set TLS fields are passed: an empty `tls` means "no TLS" to us, "TLS" to the transport.
      const { ca, cert, key } = bus.amqp.tls;
      const tls = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
      return new AmqpTransport(
        {
          url: bus.amqp.url ?? "",
          queueType: bus.amqp.queueType,
          clientProperties: { app },
          ...(bus.amqp.userId ? { userId: bus.amqp.userId } : {}),
          ...(Object.keys(tls).length > 0 ? { tls } : {}),
        },
        { logger: deps.logger, metrics: deps.metrics },
      );
    }
    case "nats":
      return new NatsTransport({ servers: bus.nats.url ?? "", stream: bus.nats.stream, name: app }, { logger: deps.logger, metrics: deps.metrics });
  }
}

/** Redis when `redis.url` is set (shared by replicas), else in memory (embedded mode). */
export function createIdempotencyStore(config: CommonConfig, logger: Logger): IdempotencyStore {
  if (!config.redis.url) return new MemoryIdempotencyStore();
  let warned = false;
  return new RedisIdempotencyStore({
    url: config.redis.url,
    prefix: config.redis.keyPrefix,
    // ioredis reports every reconnect attempt; one line per outage is enough.
    onError: (err) => {
      if (warned) return;
      warned = true;
      logger.warn({ err: err.message }, "Redis connection error; ioredis keeps reconnecting");
    },
  });
}
