import { RedisLink } from "@atomic-ci/bus";
import type { Candidate, PublisherStore, StoredHold, StoredStream } from "./store.js";

type RedisClient = RedisLink["client"];

export interface RedisPublisherStoreOptions {
  /** Use this client (the store never closes it), or … */
  client?: RedisClient;
  /** … connect to this URL (the store owns that client and quits it on close). */
  url?: string;
  /** Key prefix. Default `atomic-ci:publisher`. */
  prefix?: string;
  /** Told about connection errors of an owned client (ioredis reconnects by itself). */
  onError?: (err: Error) => void;
}

export const DEFAULT_PUBLISHER_PREFIX = "atomic-ci:publisher";

/**
 * The publisher's state in Redis, so a restart forgets no compose and no hold:
 *   <prefix>:candidate:<commit>   one JSON document per compose
 *   <prefix>:candidates           the set of those commits
 *   <prefix>:streams              hash stream → what it has
 *   <prefix>:holds                hash stream → the manual hold
 * A candidate is updated with WATCH/MULTI (retried when another writer got in between), so
 * two replicas handling a decision and an image message for one compose lose neither.
 */
export class RedisPublisherStore implements PublisherStore {
  readonly prefix: string;
  private readonly link: RedisLink;
  /** WATCH is per connection: updates through this client go one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: RedisPublisherStoreOptions) {
    this.link = new RedisLink(options, "RedisPublisherStore");
    this.prefix = options.prefix ?? DEFAULT_PUBLISHER_PREFIX;
  }

  get client(): RedisClient {
    return this.link.client;
  }

  connect(): Promise<void> {
    return this.link.connect();
  }

  private candidateKey(commit: string): string {
    return `${this.prefix}:candidate:${commit}`;
  }

  async getCandidate(commit: string): Promise<Candidate | undefined> {
    const text = await this.client.get(this.candidateKey(commit));
    return text === null ? undefined : (parse(text, this.candidateKey(commit)) as Candidate);
  }

  updateCandidate(commit: string, update: (current: Candidate | undefined) => Candidate): Promise<Candidate> {
    const run = this.queue.then(() => this.updateOnce(commit, update));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async updateOnce(commit: string, update: (current: Candidate | undefined) => Candidate): Promise<Candidate> {
    const key = this.candidateKey(commit);
    for (let attempt = 0; attempt < 20; attempt++) {
      await this.client.watch(key);
      const text = await this.client.get(key);
      const next = update(text === null ? undefined : (parse(text, key) as Candidate));
      const done = await this.client.multi().set(key, JSON.stringify(next)).sadd(`${this.prefix}:candidates`, commit).exec();
      if (done !== null) return next;
    }
    throw new Error(`${key}: too many concurrent updates`);
  }

  async listCandidates(): Promise<Candidate[]> {
    const commits = await this.client.smembers(`${this.prefix}:candidates`);
    if (commits.length === 0) return [];
    const texts = await this.client.mget(commits.map((c) => this.candidateKey(c)));
    return texts.flatMap((text, i) => (text === null ? [] : [parse(text, this.candidateKey(commits[i] ?? "")) as Candidate]));
  }

  async deleteCandidate(commit: string): Promise<void> {
    await this.client.multi().del(this.candidateKey(commit)).srem(`${this.prefix}:candidates`, commit).exec();
  }

  async getStreams(): Promise<Record<string, StoredStream>> {
    return parseHash(await this.client.hgetall(`${this.prefix}:streams`), `${this.prefix}:streams`) as Record<string, StoredStream>;
  }

  async setStream(stream: string, state: StoredStream): Promise<void> {
    await this.client.hset(`${this.prefix}:streams`, stream, JSON.stringify(state));
  }

  async getHolds(): Promise<Record<string, StoredHold>> {
    return parseHash(await this.client.hgetall(`${this.prefix}:holds`), `${this.prefix}:holds`) as Record<string, StoredHold>;
  }

  async setHold(stream: string, hold: StoredHold): Promise<void> {
    await this.client.hset(`${this.prefix}:holds`, stream, JSON.stringify(hold));
  }

  async clearHold(stream: string): Promise<boolean> {
    return (await this.client.hdel(`${this.prefix}:holds`, stream)) > 0;
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

function parse(text: string, key: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${key}: the stored publisher state is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function parseHash(hash: Record<string, string>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(hash).map(([field, text]) => [field, parse(text, `${key}/${field}`)]));
}
