import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Every metric atomic-ci exports, declared in this one module. Label `consumer` is the queue
 * (or durable consumer) name; `topic` is the routing key; `reason` is a dead-letter reason
 * code (see the bus's DeadLetterReason).
 */
export function createMetrics(registry: Registry = new Registry()) {
  return {
    registry,
    /** Messages delivered to a consumer, before any decoding. */
    received: new Counter({ name: "atomic_ci_messages_received_total", help: "Messages delivered to a consumer", labelNames: ["consumer"], registers: [registry] }),
    /** Messages whose handler completed and that were acked. */
    processed: new Counter({ name: "atomic_ci_messages_processed_total", help: "Messages handled and acked", labelNames: ["consumer"], registers: [registry] }),
    /** Messages skipped because their id was already processed (idempotency store hit). */
    duplicates: new Counter({ name: "atomic_ci_messages_duplicate_total", help: "Messages skipped as already processed", labelNames: ["consumer"], registers: [registry] }),
    /** Messages put back on the queue for another attempt (handler asked, or failed). */
    requeued: new Counter({ name: "atomic_ci_messages_requeued_total", help: "Messages requeued for redelivery", labelNames: ["consumer"], registers: [registry] }),
    /** Messages dead-lettered, by reason (invalid, dropped by handler, too many deliveries, ...). */
    dropped: new Counter({ name: "atomic_ci_messages_dropped_total", help: "Messages dead-lettered, by reason", labelNames: ["consumer", "reason"], registers: [registry] }),
    /** Messages that failed decoding or schema validation (also counted in dropped). */
    rejected: new Counter({ name: "atomic_ci_messages_rejected_total", help: "Messages rejected as invalid", labelNames: ["consumer", "reason"], registers: [registry] }),
    /** Handler invocations that threw an unexpected error. */
    failed: new Counter({ name: "atomic_ci_messages_failed_total", help: "Handler invocations that threw", labelNames: ["consumer"], registers: [registry] }),
    /** Wall-clock seconds spent in message handlers, by outcome. */
    handlerSeconds: new Histogram({ name: "atomic_ci_handler_seconds", help: "Seconds spent in message handlers", labelNames: ["consumer", "outcome"], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600], registers: [registry] }),
    /** Handlers running right now (what a graceful shutdown waits for). */
    inFlight: new Gauge({ name: "atomic_ci_handlers_in_flight", help: "Handlers currently running", labelNames: ["consumer"], registers: [registry] }),
    /** Publishes confirmed by the broker. */
    publishConfirms: new Counter({ name: "atomic_ci_publish_confirms_total", help: "Publishes confirmed by the broker", labelNames: ["transport"], registers: [registry] }),
    /** Publishes the broker returned (unroutable) or nacked. */
    publishReturns: new Counter({ name: "atomic_ci_publish_returns_total", help: "Publishes returned or nacked by the broker", labelNames: ["transport", "reason"], registers: [registry] }),
    /** Publishes refused before sending because the message failed its schema. */
    publishInvalid: new Counter({ name: "atomic_ci_publish_invalid_total", help: "Publishes refused by schema validation", labelNames: ["topic"], registers: [registry] }),
    /** Seconds from publish to broker confirm. */
    publishSeconds: new Histogram({ name: "atomic_ci_publish_seconds", help: "Seconds from publish to confirm", labelNames: ["transport"], buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [registry] }),
    /** Transport (re)connections, by transport and result. */
    connections: new Counter({ name: "atomic_ci_bus_connections_total", help: "Bus connection attempts", labelNames: ["transport", "result"], registers: [registry] }),
    /** 1 while the service is consuming (what /ready reports). */
    consuming: new Gauge({ name: "atomic_ci_consuming", help: "1 while consuming", labelNames: ["consumer"], registers: [registry] }),
    /** Gate decisions the publisher refused because another broker account than the gatekeeper's sent them. */
    publisherUntrusted: new Counter({ name: "atomic_ci_publisher_untrusted_total", help: "Messages the publisher refused for their sender (user_id)", labelNames: ["topic"], registers: [registry] }),
    /** The publisher's releases: delivered, held (a new set of reasons), rolled back, failed (promotion threw). */
    publisherReleases: new Counter({ name: "atomic_ci_publisher_releases_total", help: "Releases delivered, held, rolled back or failed, by stream", labelNames: ["stream", "event"], registers: [registry] }),
    /** Seconds the oldest change set has waited for a final compose-gate decision (the gatekeeper's). */
    oldestUngatedAge: new Gauge({ name: "atomic_ci_oldest_ungated_change_age_seconds", help: "Age of the oldest change set without a final compose-gate decision", labelNames: ["context"], registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Adds Node.js process metrics (heap, event loop lag, ...) to a registry. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: "atomic_ci_" });
}

export { Registry } from "prom-client";
