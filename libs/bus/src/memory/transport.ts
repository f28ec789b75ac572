import { BusError } from "../errors.js";
import type { ConsumeSpec, ConsumerHandle, DeliveryHandler, Transport, WireMessage } from "../transport.js";
import { MemoryBroker } from "./broker.js";

/** The embedded default transport: same semantics as AMQP, in this process. */
export class MemoryTransport implements Transport {
  readonly kind = "memory" as const;
  private closed = false;
  private readonly cancels = new Set<() => void>();

  constructor(readonly broker: MemoryBroker = new MemoryBroker()) {}

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new BusError("CLOSED", "transport is closed"));
    return Promise.resolve();
  }

  isConnected(): boolean {
    return !this.closed;
  }

  send(message: WireMessage, exchange: string): Promise<void> {
    if (this.closed) return Promise.reject(new BusError("CLOSED", "transport is closed"));
    if (!this.broker.publish(exchange, message)) {
      return Promise.reject(new BusError("PUBLISH_RETURNED", `message to ${exchange || "(default exchange)"} with routing key ${message.routingKey} is unroutable`));
    }
    return Promise.resolve();
  }

  consume(spec: ConsumeSpec, handler: DeliveryHandler): Promise<ConsumerHandle> {
    if (this.closed) return Promise.reject(new BusError("CLOSED", "transport is closed"));
    this.broker.declareQueue(spec.queue);
    this.broker.declareQueue(spec.deadLetter);
    this.broker.deadLetterTargets.set(spec.queue, spec.deadLetter);
    for (const pattern of spec.bindings) this.broker.bind(spec.queue, spec.exchange, pattern);
    const cancel = this.broker.subscribe(spec.queue, handler, spec.prefetch);
    this.cancels.add(cancel);
    return Promise.resolve({
      cancel: () => {
        cancel();
        this.cancels.delete(cancel);
        return Promise.resolve();
      },
    });
  }

  close(): Promise<void> {
    this.closed = true;
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
    return Promise.resolve();
  }
}
