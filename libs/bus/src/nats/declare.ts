import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, nanos, type ConsumerConfig, type JetStreamManager, type StreamConfig } from "nats";
import { BusError, errorMessage } from "../errors.js";
import type { ConsumeSpec } from "../transport.js";
import type { ResolvedNatsOptions } from "./options.js";
import type { SubjectFilter } from "./subjects.js";

/** JetStream API error codes this module tells apart. */
const JS_ERR = { streamNotFound: 10059, consumerNotFound: 10014, streamNameInUse: 10058 } as const;

function apiErrorCode(err: unknown): number | undefined {
  const apiError = (err as { api_error?: { err_code?: number } } | undefined)?.api_error;
  return apiError?.err_code;
}

/**
 * Create the stream, or add the subjects it lacks. Subjects other services added are kept:
 * services that configure different lists must not take each other's subjects away.
 * Returns the subjects the stream captures afterwards.
 */
async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<string[]> {
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(config.name)).config;
  } catch (err) {
    if (apiErrorCode(err) !== JS_ERR.streamNotFound) throw err;
    try {
      return (await jsm.streams.add(config)).config.subjects;
    } catch (addErr) {
      // Another service created it meanwhile (with its own settings): merge into that one.
      if (apiErrorCode(addErr) !== JS_ERR.streamNameInUse) throw addErr;
      existing = (await jsm.streams.info(config.name)).config;
    }
  }
  const missing = config.subjects.filter((s) => !existing.subjects.includes(s));
  if (missing.length === 0) return existing.subjects;
  return (await jsm.streams.update(config.name, { ...existing, subjects: [...existing.subjects, ...missing] })).config.subjects;
}

/**
 * The main stream (bus messages) and the dead-letter stream. Dead letters live in their own
 * stream with limits retention: nothing consumes them, they are kept for inspection and
 * replay until `deadLetterMaxAgeMs`, and they never mix with live traffic.
 */
export async function ensureStreams(jsm: JetStreamManager, o: ResolvedNatsOptions): Promise<string[]> {
  try {
    const subjects = await ensureStream(jsm, {
      name: o.stream,
      subjects: o.subjects,
      retention: o.retention === "interest" ? RetentionPolicy.Interest : RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(o.maxAgeMs),
      duplicate_window: nanos(o.duplicateWindowMs),
      num_replicas: o.replicas,
      description: "atomic-ci bus messages (fedora-messaging routing keys as subjects)",
    });
    await ensureStream(jsm, {
      name: o.deadLetterStream,
      subjects: [`${o.deadLetterPrefix}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(o.deadLetterMaxAgeMs),
      duplicate_window: nanos(o.duplicateWindowMs),
      num_replicas: o.replicas,
      description: "atomic-ci dead-lettered messages",
    });
    return subjects;
  } catch (err) {
    throw new BusError("DECLARATION", `cannot declare NATS streams ${o.stream} and ${o.deadLetterStream}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Server-side delivery limit. The consumer pipeline dead-letters a message itself once
 * `deliveryCount` reaches `maxDeliveries` (with the reason in headers, which JetStream's own
 * limit could not do), so this is only a backstop for deliveries that never got settled
 * (a crashed process, an ack lost with the connection): one more delivery lets the pipeline
 * see `deliveryCount > maxDeliveries` and dead-letter it, one more is slack for a failed
 * dead-letter publish.
 */
export function serverMaxDeliver(maxDeliveries: number): number {
  return maxDeliveries + 2;
}

/** Parse `nc.info.version`: servers before 2.10 accept a single consumer filter subject. */
export function supportsMultipleFilters(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? "");
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 2 || (major === 2 && minor >= 10);
}

export interface DurableSpec {
  stream: string;
  durable: string;
  spec: ConsumeSpec;
  filter: SubjectFilter;
  ackWaitMs: number;
  multipleFilters: boolean;
}

/**
 * Create the durable pull consumer, or update the settings a redeclaration may change
 * (filters, prefetch, limits). A new durable starts with messages published from now on,
 * as a newly bound AMQP queue does; it then keeps its position across restarts.
 */
export async function ensureDurable(jsm: JetStreamManager, d: DurableSpec): Promise<void> {
  const filters: Partial<ConsumerConfig> = d.multipleFilters
    ? { filter_subjects: d.filter.subjects.length > 0 ? d.filter.subjects : undefined, filter_subject: undefined }
    : { filter_subject: d.filter.subjects[0] };
  const settings: Partial<ConsumerConfig> = {
    ...filters,
    description: `atomic-ci consumer ${d.spec.queue}: ${d.spec.bindings.join(" ")}`.slice(0, 1000),
    ack_wait: nanos(d.ackWaitMs),
    max_deliver: serverMaxDeliver(d.spec.maxDeliveries),
    // Unacked messages across every process sharing this durable (AMQP's prefetch is per channel).
    max_ack_pending: d.spec.prefetch,
  };
  try {
    let exists = true;
    try {
      await jsm.consumers.info(d.stream, d.durable);
    } catch (err) {
      if (apiErrorCode(err) !== JS_ERR.consumerNotFound) throw err;
      exists = false;
    }
    if (exists) {
      await jsm.consumers.update(d.stream, d.durable, settings);
    } else {
      await jsm.consumers.add(d.stream, { ...settings, durable_name: d.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
    }
  } catch (err) {
    throw new BusError("DECLARATION", `cannot declare NATS consumer ${d.durable} on stream ${d.stream}: ${errorMessage(err)}`, { cause: err });
  }
}
