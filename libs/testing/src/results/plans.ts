// What a test-runner planned for a compose (where its tests come from, their ids and commits),
// kept beside the results so a single test can be run again on request, after a restart too.
// The documents are opaque JSON here; the test-runner validates what it reads back.
import { RedisLink } from "@atomic-ci/bus";
import type { Redis } from "ioredis";

export interface PlanStore {
  /** Replace the document under `key`. */
  put(key: string, doc: unknown): Promise<void>;
  get(key: string): Promise<unknown>;
}

/** In one process (tests, embedded mode). */
export class MemoryPlanStore implements PlanStore {
  private readonly docs = new Map<string, string>();

  put(key: string, doc: unknown): Promise<void> {
    this.docs.set(key, JSON.stringify(doc));
    return Promise.resolve();
  }

  get(key: string): Promise<unknown> {
    const text = this.docs.get(key);
    return Promise.resolve(text === undefined ? undefined : (JSON.parse(text) as unknown));
  }
}

export const DEFAULT_PLANS_KEY = "atomic-ci:results:plans";

export interface RedisPlanStoreOptions {
  client?: Redis;
  url?: string;
  /** The hash holding the documents; default `atomic-ci:results:plans`. */
  key?: string;
  onError?: (err: Error) => void;
}

/** One Redis hash: key → JSON document. Plans are small (a compose's test list) and kept. */
export class RedisPlanStore implements PlanStore {
  readonly key: string;
  private readonly link: RedisLink;

  constructor(options: RedisPlanStoreOptions) {
    this.link = new RedisLink(options, "RedisPlanStore");
    this.key = options.key ?? DEFAULT_PLANS_KEY;
  }

  connect(): Promise<void> {
    return this.link.connect();
  }

  close(): Promise<void> {
    return this.link.close();
  }

  async put(key: string, doc: unknown): Promise<void> {
    await this.link.client.hset(this.key, key, JSON.stringify(doc));
  }

  async get(key: string): Promise<unknown> {
    const text = await this.link.client.hget(this.key, key);
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new Error(`${this.key} ${key}: the stored plan is not JSON`, { cause: err });
    }
  }
}
