import { topicMatches } from "@atomic-ci/messages";
import { deadLetterHeaders, type DeadLetterInfo, type Delivery, type DeliveryHandler, type WireMessage } from "../transport.js";

interface Entry {
  message: WireMessage;
  deliveryCount: number;
}

interface Subscriber {
  handler: DeliveryHandler;
  prefetch: number;
  unacked: number;
}

/** One queue of the in-memory broker: ready messages, bindings, at most one consumer. */
class MemoryQueue {
  readonly ready: Entry[] = [];
  readonly bindings = new Set<string>(); // `${exchange}\0${pattern}`
  subscriber: Subscriber | undefined;
  private pumping = false;

  constructor(readonly name: string) {}

  routes(exchange: string, routingKey: string): boolean {
    for (const binding of this.bindings) {
      const [ex, pattern] = binding.split("\0") as [string, string];
      if (ex === exchange && topicMatches(pattern, routingKey)) return true;
    }
    return false;
  }

  enqueue(entry: Entry, front = false): void {
    if (front) this.ready.unshift(entry);
    else this.ready.push(entry);
    this.schedule();
  }

  /** Deliveries go out asynchronously, never inside the caller's stack (as with a real broker). */
  schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.pump();
    });
  }

  private pump(): void {
    const sub = this.subscriber;
    while (sub && this.subscriber === sub && sub.unacked < sub.prefetch && this.ready.length > 0) {
      const entry = this.ready.shift() as Entry;
      entry.deliveryCount += 1;
      sub.unacked += 1;
      void sub.handler(this.delivery(entry, sub)).catch(() => undefined);
    }
  }

  private delivery(entry: Entry, sub: Subscriber): Delivery {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return Promise.resolve();
      settled = true;
      sub.unacked -= 1;
      fn();
      this.schedule();
      return Promise.resolve();
    };
    return {
      routingKey: entry.message.routingKey,
      body: entry.message.body,
      properties: entry.message.properties,
      deliveryCount: entry.deliveryCount,
      ack: () => settle(() => undefined),
      requeue: () => settle(() => this.ready.unshift(entry)),
      deadLetter: (info) =>
        settle(() => {
          this.broker?.deadLetter(entry, info);
        }),
    };
  }

  broker: MemoryBroker | undefined;
}

/**
 * An AMQP-like broker in one process: topic exchanges, durable queues, prefetch, requeue
 * with delivery counts, and dead-lettering. Several transports (services) can share one.
 */
export class MemoryBroker {
  private readonly queues = new Map<string, MemoryQueue>();

  declareQueue(name: string): MemoryQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new MemoryQueue(name);
      queue.broker = this;
      this.queues.set(name, queue);
    }
    return queue;
  }

  bind(queue: string, exchange: string, pattern: string): void {
    this.declareQueue(queue).bindings.add(`${exchange}\0${pattern}`);
  }

  /** Route to every bound queue; false when no queue is bound (unroutable). */
  publish(exchange: string, message: WireMessage): boolean {
    // The default exchange routes straight to the queue named by the routing key.
    if (exchange === "") {
      const queue = this.queues.get(message.routingKey);
      if (!queue) return false;
      queue.enqueue({ message, deliveryCount: 0 });
      return true;
    }
    let routed = false;
    for (const queue of this.queues.values()) {
      if (queue.routes(exchange, message.routingKey)) {
        queue.enqueue({ message: cloneMessage(message), deliveryCount: 0 });
        routed = true;
      }
    }
    return routed;
  }

  subscribe(queue: string, handler: DeliveryHandler, prefetch: number): () => void {
    const q = this.declareQueue(queue);
    const sub: Subscriber = { handler, prefetch, unacked: 0 };
    q.subscriber = sub;
    q.schedule();
    return () => {
      if (q.subscriber === sub) q.subscriber = undefined;
    };
  }

  /** Messages waiting in a queue (for tests and the demo). */
  peek(queue: string): readonly WireMessage[] {
    return (this.queues.get(queue)?.ready ?? []).map((e) => e.message);
  }

  /** Remove and return every ready message of a queue. */
  take(queue: string): WireMessage[] {
    const q = this.queues.get(queue);
    if (!q) return [];
    return q.ready.splice(0).map((e) => e.message);
  }

  /** queue → its dead-letter queue, set when a consumer declares it. */
  readonly deadLetterTargets = new Map<string, string>();

  deadLetter(entry: { message: WireMessage; deliveryCount: number }, info: DeadLetterInfo): void {
    const target = this.deadLetterTargets.get(info.consumer) ?? `${info.consumer}.dead-letter`;
    const headers = deadLetterHeadersFor(entry, info);
    this.declareQueue(target).enqueue({
      message: { routingKey: entry.message.routingKey, body: entry.message.body, properties: { ...entry.message.properties, headers } },
      deliveryCount: 0,
    });
  }
}


function deadLetterHeadersFor(entry: { message: WireMessage; deliveryCount: number }, info: DeadLetterInfo) {
  return deadLetterHeaders({ routingKey: entry.message.routingKey, deliveryCount: entry.deliveryCount, properties: entry.message.properties }, info);
}

function cloneMessage(message: WireMessage): WireMessage {
  return { routingKey: message.routingKey, body: message.body, properties: { ...message.properties, headers: { ...message.properties.headers } } };
}
