// The gatekeeper's state in Redis (store.ts has the interfaces and the memory twins). Keys are
// `<prefix>:<what>[:<id>]` like the bus's idempotency keys (`atomic-ci:idem:<scope>:<id>`);
// the default prefix is `atomic-ci:gatekeeper`. Every value is JSON.
//
//   results            hash   result id → ResultsdbResult
//   about:<identifier> set    result ids whose data.item / data.compose name it
//   waivers            hash   waiver id → WaiverdbWaiver
//   waiver-seq         string the highest waiver id stored or handed out (ids continue after a restart)
//   decisions          hash   subject + product version + context → last Decision
//   pending            hash   subject key → {subject, mark}: still to be re-decided
//   pending-seq        string mark counter
//   cs:<id>            string a ChangeSetQueued (expires after `changeSetRetentionMs`)
//   composed           hash   change set id → {commit} | {error}
//   composed-to:<sha>  set    change set ids that composed to that commit
//   verdicts           hash   commit → the compose gate's final Verdict
//   searches           hash   parent change set id → {parent, whole} while running, "done" after
//   answers:<parent>   hash   member-set key → Verdict (the search's memo)
import { RedisLink, type RedisLinkOptions } from "@atomic-ci/bus";
import type { Decision, Subject } from "@atomic-ci/gating";
import { ChangeSetQueued, ResultsdbResult, WaiverdbWaiver } from "@atomic-ci/messages";
import type { Verdict } from "./culprits/core.js";
import {
  identifiersOfResult,
  subjectKey,
  type CulpritStore,
  type DecisionStore,
  type GatekeeperStores,
  type ResultStore,
  type SearchState,
  type WaiverStore,
} from "./store.js";

export const REDIS_STORE_DEFAULTS = {
  prefix: "atomic-ci:gatekeeper",
  changeSetRetentionMs: 14 * 24 * 3600_000,
} as const;

export interface RedisStoresOptions extends RedisLinkOptions {
  /** Key prefix. Default `atomic-ci:gatekeeper`. */
  prefix?: string;
  /** How long a change set is remembered for culprit finding. Default 14 days. */
  changeSetRetentionMs?: number;
}

/** Raise the stored highest id to at least ARGV[1]. */
const RAISE_SCRIPT = `
local current = tonumber(redis.call("GET", KEYS[1]) or "0")
if current < tonumber(ARGV[1]) then redis.call("SET", KEYS[1], ARGV[1]) end
return 1`;

/** Delete a pending mark only while it is still the one the pass decided (ARGV[2] = its mark). */
const CLEAR_MARK_SCRIPT = `
local value = redis.call("HGET", KEYS[1], ARGV[1])
if value and cjson.decode(value).mark == tonumber(ARGV[2]) then return redis.call("HDEL", KEYS[1], ARGV[1]) end
return 0`;

/** Run a MULTI: a command failing inside it fails the whole call (exec only reports it). */
async function run(multi: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<void> {
  const replies = await multi.exec();
  if (replies === null) throw new Error("Redis transaction aborted");
  for (const [err] of replies) if (err) throw err;
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what}: the stored value is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** The gatekeeper's stores on one Redis connection. */
export class RedisStores implements GatekeeperStores {
  readonly results: ResultStore;
  readonly waivers: WaiverStore;
  readonly decisions: DecisionStore;
  readonly culprits: CulpritStore;
  private readonly link: RedisLink;

  constructor(options: RedisStoresOptions) {
    this.link = new RedisLink(options, "RedisStores");
    const prefix = options.prefix ?? REDIS_STORE_DEFAULTS.prefix;
    const key = (...parts: string[]) => [prefix, ...parts].join(":");
    const client = () => this.link.client;

    this.results = {
      async add(result) {
        const multi = client().multi().hset(key("results"), String(result.id), JSON.stringify(result));
        for (const id of identifiersOfResult(result)) multi.sadd(key("about", id), String(result.id));
        await run(multi);
      },
      async about(identifier) {
        const ids = await client().smembers(key("about", identifier));
        if (ids.length === 0) return [];
        const texts = await client().hmget(key("results"), ...ids);
        return texts.filter((t): t is string => t !== null).map((t) => ResultsdbResult.parse(parse(t, key("results"))));
      },
    };

    this.waivers = {
      async add(waiver) {
        await run(client().multi().hset(key("waivers"), String(waiver.id), JSON.stringify(waiver)).eval(RAISE_SCRIPT, 1, key("waiver-seq"), String(waiver.id)));
      },
      async nextId() {
        return client().incr(key("waiver-seq"));
      },
      async all() {
        const all = await client().hvals(key("waivers"));
        return all.map((t) => WaiverdbWaiver.parse(parse(t, key("waivers")))).sort((a, b) => a.id - b.id);
      },
    };

    this.decisions = {
      async get(k) {
        const text = await client().hget(key("decisions"), k);
        return text === null ? undefined : (parse(text, key("decisions")) as Decision);
      },
      async set(k, decision) {
        await client().hset(key("decisions"), k, JSON.stringify(decision));
      },
      async markPending(subjects: readonly Subject[]) {
        if (subjects.length === 0) return;
        const last = await client().incrby(key("pending-seq"), subjects.length);
        const fields: string[] = [];
        subjects.forEach((subject, i) => fields.push(subjectKey(subject), JSON.stringify({ subject, mark: last - subjects.length + i + 1 })));
        await client().hset(key("pending"), ...fields);
      },
      async pending() {
        const all = await client().hvals(key("pending"));
        return all.map((t) => (parse(t, key("pending")) as { subject: Subject; mark: number })).sort((a, b) => a.mark - b.mark);
      },
      async clearPending(marks) {
        if (marks.length === 0) return;
        const multi = client().multi();
        for (const { subject, mark } of marks) multi.eval(CLEAR_MARK_SCRIPT, 1, key("pending"), subjectKey(subject), String(mark));
        await run(multi);
      },
    };

    const retention = options.changeSetRetentionMs ?? REDIS_STORE_DEFAULTS.changeSetRetentionMs;
    this.culprits = {
      async putChangeSet(changeSet) {
        await client().set(key("cs", changeSet.change_set_id), JSON.stringify(changeSet), "PX", retention);
      },
      async getChangeSet(id) {
        const text = await client().get(key("cs", id));
        return text === null ? undefined : ChangeSetQueued.parse(parse(text, key("cs", id)));
      },
      async setComposed(id, composed) {
        const multi = client().multi().hset(key("composed"), id, JSON.stringify(composed));
        if ("commit" in composed) multi.sadd(key("composed-to", composed.commit), id);
        await run(multi);
      },
      async getComposed(id) {
        const text = await client().hget(key("composed"), id);
        return text === null ? undefined : (parse(text, key("composed")) as { commit: string } | { error: string });
      },
      async forgetComposed(id) {
        const text = await client().hget(key("composed"), id);
        if (text === null) return;
        const composed = (parse(text, key("composed")) as { commit: string } | { error: string });
        const multi = client().multi().hdel(key("composed"), id);
        if ("commit" in composed) multi.srem(key("composed-to", composed.commit), id);
        await run(multi);
      },
      async composedTo(commit) {
        return (await client().smembers(key("composed-to", commit))).sort();
      },
      async setVerdict(commit, verdict) {
        await client().hset(key("verdicts"), commit, JSON.stringify(verdict));
      },
      async getVerdict(commit) {
        const text = await client().hget(key("verdicts"), commit);
        return text === null ? undefined : (parse(text, key("verdicts")) as Verdict);
      },
      async startSearch(state: SearchState) {
        const set = await client().hsetnx(key("searches"), state.parent.change_set_id, JSON.stringify({ parent: state.parent, whole: state.whole }));
        if (set === 1 && Object.keys(state.answers).length > 0) {
          await client().hset(key("answers", state.parent.change_set_id), ...Object.entries(state.answers).flatMap(([k, v]) => [k, JSON.stringify(v)]));
        }
        return set === 1;
      },
      async recordAnswer(parentId, k, verdict) {
        await client().hset(key("answers", parentId), k, JSON.stringify(verdict));
      },
      async running() {
        const all = await client().hgetall(key("searches"));
        const out: SearchState[] = [];
        for (const [id, text] of Object.entries(all)) {
          const value = (parse(text, key("searches")) as "done" | { parent: unknown; whole: Extract<Verdict, { pass: false }> });
          if (value === "done") continue;
          const answers = Object.fromEntries(Object.entries(await client().hgetall(key("answers", id))).map(([k, v]) => [k, (parse(v, key("answers", id)) as Verdict)]));
          out.push({ parent: ChangeSetQueued.parse(value.parent), whole: value.whole, answers });
        }
        return out;
      },
      async finishSearch(parentId) {
        await run(client().multi().hset(key("searches"), parentId, JSON.stringify("done")).del(key("answers", parentId)));
      },
    };
  }

  get client(): RedisLink["client"] {
    return this.link.client;
  }

  /** Connect (when the stores own their client) and check that Redis answers. */
  connect(): Promise<void> {
    return this.link.connect();
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
