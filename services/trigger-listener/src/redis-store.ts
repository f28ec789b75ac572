import { RedisLink } from "@atomic-ci/bus";
import type { Redis } from "ioredis";
import { emptyState, type TriggerState } from "./core/types.js";
import type { ChangeSetStore, VersionedState } from "./store.js";

export interface RedisChangeSetStoreOptions {
  /** Use this client (the store never closes it), or … */
  client?: Redis;
  /** … connect to this URL (the store owns that client and quits it on close). */
  url?: string;
  /** The hash holding the document. Default `atomic-ci:trigger-listener:state`. */
  key?: string;
  /** Told about connection errors of an owned client (ioredis reconnects by itself). */
  onError?: (err: Error) => void;
}

export const DEFAULT_STATE_KEY = "atomic-ci:trigger-listener:state";

/**
 * Compare-and-set: write the document only while the stored version is the one the writer
 * loaded (a missing hash is version 0), and bump the version. One script, so no other
 * writer's HSET can fall between the check and the write, whatever connection it uses.
 */
const SAVE_SCRIPT = `
local current = tonumber(redis.call("HGET", KEYS[1], "version") or "0")
if current ~= tonumber(ARGV[1]) then return 0 end
redis.call("HSET", KEYS[1], "version", tostring(current + 1), "state", ARGV[2])
return 1`;

/**
 * The trigger-listener's state in Redis, for restarts and replicas: a hash with `state` (the
 * whole state as one JSON document) and `version` (a counter every save bumps). Saves are
 * compare-and-set on the version (a Lua script), so two replicas cannot lose each other's
 * updates: the slower one is told, loads again and decides again. No expiry: the core prunes
 * what is older than the retention itself.
 */
export class RedisChangeSetStore implements ChangeSetStore {
  readonly key: string;
  private readonly link: RedisLink;

  constructor(options: RedisChangeSetStoreOptions) {
    this.link = new RedisLink(options, "RedisChangeSetStore");
    this.key = options.key ?? DEFAULT_STATE_KEY;
  }

  get client(): Redis {
    return this.link.client;
  }

  /** Connect (when the store owns its client) and check that Redis answers. */
  connect(): Promise<void> {
    return this.link.connect();
  }

  async load(): Promise<VersionedState> {
    const [version, text] = await this.client.hmget(this.key, "version", "state");
    if (text === null || text === undefined) return { state: emptyState(), version: Number(version ?? 0) };
    return { state: parseState(text, this.key), version: Number(version ?? 0) };
  }

  async save(state: TriggerState, expectedVersion: number): Promise<boolean> {
    const saved = await this.client.eval(SAVE_SCRIPT, 1, this.key, String(expectedVersion), JSON.stringify(state));
    return saved === 1;
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

/** The stored document, checked for the shape the core relies on (a corrupt one is an error naming the key, not a crash deep in the core). */
function parseState(text: string, key: string): TriggerState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${key}: the stored change set state is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const doc = value as Partial<Record<keyof TriggerState, unknown>> | null;
  const ok =
    typeof doc === "object" &&
    doc !== null &&
    typeof doc.queued === "object" &&
    doc.queued !== null &&
    !Array.isArray(doc.queued) &&
    Array.isArray(doc.waiting) &&
    (doc.batch === null || (typeof doc.batch === "object" && Array.isArray((doc.batch as { changes?: unknown }).changes)));
  if (!ok) throw new Error(`${key}: the stored change set state does not have the shape {queued, waiting, batch}`);
  return value as TriggerState;
}
