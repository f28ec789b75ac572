import { AmqpTransport, Bus, MemoryIdempotencyStore, resolveAmqpOptions } from "@atomic-ci/bus";
import { defaultRegistry } from "@atomic-ci/messages";
import { createMetrics, silentLogger } from "@atomic-ci/telemetry";

/**
 * A short-lived publisher for CLI commands: connect to the broker at `url`, run `use`, close.
 * Publishes are validated and confirmed like any service's.
 */
export async function withAmqpBus<T>(url: string, options: { prefix: string; connectionName: string }, use: (bus: Bus) => Promise<T>): Promise<T> {
  const transport = new AmqpTransport(resolveAmqpOptions({ url, clientProperties: { connection_name: options.connectionName } }));
  const bus = new Bus(
    { transport, registry: defaultRegistry, idempotency: new MemoryIdempotencyStore(), metrics: createMetrics(), logger: silentLogger() },
    { topicPrefix: options.prefix },
  );
  try {
    await bus.connect();
    return await use(bus);
  } finally {
    await bus.close();
  }
}
