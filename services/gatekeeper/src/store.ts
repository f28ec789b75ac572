// The gatekeeper's state, behind small interfaces with two implementations: in memory
// (embedded mode, tests) and Redis (redis-store.ts, when `redis.url` is set: it survives a
// restart and replicas could share it). What is kept: the results heard of (a ResultsDB index),
// the waivers (WaiverDB), the last decision per subject and gating point (what `previous` is
// compared with), the subjects still to be re-decided, and the culprit finder's state.
// The query helpers (what a compose holds, a build's commit, …) are plain functions over
// `ResultStore.about`, so both stores answer them the same way.
import type { Decision, Subject } from "@atomic-ci/gating";
import type { ChangeSetQueued, CulpritsFound, ResultsdbResult, WaiverdbWaiver } from "@atomic-ci/messages";
import type { Verdict } from "./culprits/core.js";

/** ResultsDB `data.type` values naming the same subject type. */
const TYPE_ALIASES: Readonly<Record<string, readonly string[]>> = { koji_build: ["koji_build", "brew-build"] };

function typeMatches(result: ResultsdbResult, subjectType: string): boolean {
  const types = result.data["type"];
  if (types === undefined) return true;
  const accepted = TYPE_ALIASES[subjectType] ?? [subjectType];
  return types.some((t) => accepted.includes(t));
}

/** What a result is about: one subject per `data.item` value, typed by `data.type` (koji_build when absent). */
export function subjectsOfResult(result: ResultsdbResult): Subject[] {
  const items = result.data["item"] ?? [];
  const rawType = result.data["type"]?.[0] ?? "koji_build";
  const type = rawType === "brew-build" ? "koji_build" : rawType;
  return items.map((identifier) => ({ type, identifier }));
}

/** The composes a result was produced on (`data.compose`: compose ids and/or OSTree commits). */
export function composesOfResult(result: ResultsdbResult): string[] {
  return result.data["compose"] ?? [];
}

/** Every identifier a result is indexed under: its items and the composes it ran on. */
export function identifiersOfResult(result: ResultsdbResult): string[] {
  return [...new Set([...(result.data["item"] ?? []), ...composesOfResult(result)])];
}

/** A build's dist-git commit named by a result: `data.dist_git_commit`, or the `#<sha>` of `data.source`. */
export function commitOfResult(result: ResultsdbResult): string | undefined {
  const direct = result.data["dist_git_commit"]?.[0];
  if (direct && /^[0-9a-f]{7,64}$/.test(direct)) return direct;
  for (const source of result.data["source"] ?? []) {
    const match = /#([0-9a-f]{7,64})$/.exec(source);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

/** The results index (ResultsDB's `GET /results?item=`). */
export interface ResultStore {
  /** Store (or replace, same id) a result. */
  add(result: ResultsdbResult): Promise<void>;
  /** Every result whose `data.item` or `data.compose` names this identifier (any order). */
  about(identifier: string): Promise<ResultsdbResult[]>;
}

/** WaiverDB's store. */
export interface WaiverStore {
  /** Store a waiver (ours or WaiverDB's); later ids handed out are above it. */
  add(waiver: WaiverdbWaiver): Promise<void>;
  /** A fresh id: above every id stored or handed out before, also across restarts. */
  nextId(): Promise<number>;
  /** Every waiver, by id ascending. */
  all(): Promise<WaiverdbWaiver[]>;
}

/**
 * The last decision per subject and gating point, and the subjects still to be re-decided
 * (marked when a result or waiver is stored, cleared when a pass decided them: a restart
 * between the two decides them then).
 */
export interface DecisionStore {
  get(key: string): Promise<Decision | undefined>;
  set(key: string, decision: Decision): Promise<void>;
  /** Mark subjects to re-decide; returns the mark of each (a number that grows with every mark). */
  markPending(subjects: readonly Subject[]): Promise<void>;
  /** The marked subjects, each with its mark. */
  pending(): Promise<{ subject: Subject; mark: number }[]>;
  /** Clear marks, each only if it is still the one given (a subject marked again meanwhile stays). */
  clearPending(marks: readonly { subject: Subject; mark: number }[]): Promise<void>;
}

/** A culprit search in progress: its parent change set, the failing whole, the answers so far. */
export interface SearchState {
  parent: ChangeSetQueued;
  whole: Extract<Verdict, { pass: false }>;
  /** Answers per member set (the core's memo key) already known. */
  answers: Record<string, Verdict>;
}

/** What the culprit finder must not forget across a restart. */
export interface CulpritStore {
  putChangeSet(changeSet: ChangeSetQueued): Promise<void>;
  getChangeSet(id: string): Promise<ChangeSetQueued | undefined>;
  /** The commit a change set composed to, or why it did not compose. */
  setComposed(id: string, composed: { commit: string } | { error: string }): Promise<void>;
  getComposed(id: string): Promise<{ commit: string } | { error: string } | undefined>;
  /** Forget how a change set composed (it is asked for again). */
  forgetComposed(id: string): Promise<void>;
  /** Change sets that composed to this commit. */
  composedTo(commit: string): Promise<string[]>;
  setVerdict(commit: string, verdict: Verdict): Promise<void>;
  getVerdict(commit: string): Promise<Verdict | undefined>;
  /** Start a search; false when one was started for that change set before (running or done). */
  startSearch(state: SearchState): Promise<boolean>;
  recordAnswer(parentId: string, key: string, verdict: Verdict): Promise<void>;
  /** Searches started and not finished (what a restarted gatekeeper resumes). */
  running(): Promise<SearchState[]>;
  finishSearch(parentId: string, report: CulpritsFound): Promise<void>;
}

/** The whole state of a gatekeeper. */
export interface GatekeeperStores {
  results: ResultStore;
  waivers: WaiverStore;
  decisions: DecisionStore;
  culprits: CulpritStore;
  close(): Promise<void>;
}

/**
 * One pass's read view of the results: each identifier is read from the store once per pass,
 * whatever number of subjects and rules ask for it.
 */
export class ResultView {
  private readonly cache = new Map<string, Promise<ResultsdbResult[]>>();

  constructor(private readonly store: ResultStore) {}

  about(identifier: string): Promise<ResultsdbResult[]> {
    let pending = this.cache.get(identifier);
    if (!pending) this.cache.set(identifier, (pending = this.store.about(identifier)));
    return pending;
  }

  /** ResultsDB's `GET /results?item=<id>&type=<type>&testcases=<name>`. `onCompose` keeps only results made on that compose. */
  async forSubject(subject: Subject, testcase?: string, onCompose?: string): Promise<ResultsdbResult[]> {
    return (await this.about(subject.identifier)).filter(
      (r) =>
        (r.data["item"] ?? []).includes(subject.identifier) &&
        typeMatches(r, subject.type) &&
        (testcase === undefined || r.testcase.name === testcase) &&
        (onCompose === undefined || composesOfResult(r).includes(onCompose)),
    );
  }

  /** The builds tested on a compose: koji_build items of the results whose `data.compose` names it. */
  async composeMembers(compose: string): Promise<string[]> {
    const nvrs = new Set<string>();
    for (const r of await this.about(compose)) {
      if (!composesOfResult(r).includes(compose)) continue;
      for (const s of subjectsOfResult(r)) if (s.type === "koji_build") nvrs.add(s.identifier);
    }
    return [...nvrs].sort();
  }

  /** Composes a build was tested on. */
  async composesOf(nvr: string): Promise<string[]> {
    return [...new Set((await this.about(nvr)).flatMap((r) => ((r.data["item"] ?? []).includes(nvr) ? composesOfResult(r) : [])))].sort();
  }

  /** The dist-git commit some result of the build names, newest result first. */
  async commitOf(nvr: string): Promise<string | undefined> {
    const results = [...(await this.about(nvr))].sort((a, b) => b.id - a.id);
    for (const r of results) {
      const commit = commitOfResult(r);
      if (commit) return commit;
    }
    return undefined;
  }
}

export class MemoryResultStore implements ResultStore {
  private readonly byId = new Map<number, ResultsdbResult>();
  private readonly byItem = new Map<string, Set<number>>();

  add(result: ResultsdbResult): Promise<void> {
    this.byId.set(result.id, result);
    for (const item of identifiersOfResult(result)) {
      let ids = this.byItem.get(item);
      if (!ids) this.byItem.set(item, (ids = new Set()));
      ids.add(result.id);
    }
    return Promise.resolve();
  }

  about(identifier: string): Promise<ResultsdbResult[]> {
    return Promise.resolve([...(this.byItem.get(identifier) ?? [])].map((id) => this.byId.get(id)).filter((r): r is ResultsdbResult => r !== undefined));
  }
}

export class MemoryWaiverStore implements WaiverStore {
  private readonly byId = new Map<number, WaiverdbWaiver>();
  private highest = 0;

  add(waiver: WaiverdbWaiver): Promise<void> {
    this.byId.set(waiver.id, waiver);
    this.highest = Math.max(this.highest, waiver.id);
    return Promise.resolve();
  }

  nextId(): Promise<number> {
    return Promise.resolve(++this.highest);
  }

  all(): Promise<WaiverdbWaiver[]> {
    return Promise.resolve([...this.byId.values()].sort((a, b) => a.id - b.id));
  }
}

export const subjectKey = (s: Subject): string => `${s.type}\u0000${s.identifier}`;

export class MemoryDecisionStore implements DecisionStore {
  private readonly decisions = new Map<string, Decision>();
  private readonly marks = new Map<string, { subject: Subject; mark: number }>();
  private counter = 0;

  get(key: string): Promise<Decision | undefined> {
    return Promise.resolve(this.decisions.get(key));
  }

  set(key: string, decision: Decision): Promise<void> {
    this.decisions.set(key, decision);
    return Promise.resolve();
  }

  markPending(subjects: readonly Subject[]): Promise<void> {
    for (const subject of subjects) this.marks.set(subjectKey(subject), { subject, mark: ++this.counter });
    return Promise.resolve();
  }

  pending(): Promise<{ subject: Subject; mark: number }[]> {
    return Promise.resolve([...this.marks.values()].sort((a, b) => a.mark - b.mark));
  }

  clearPending(marks: readonly { subject: Subject; mark: number }[]): Promise<void> {
    for (const { subject, mark } of marks) {
      const key = subjectKey(subject);
      if (this.marks.get(key)?.mark === mark) this.marks.delete(key);
    }
    return Promise.resolve();
  }
}

/** Change sets remembered (memory store): the newest ones. */
const KEPT_CHANGE_SETS = 1000;

export class MemoryCulpritStore implements CulpritStore {
  private readonly changeSets = new Map<string, ChangeSetQueued>();
  private readonly composed = new Map<string, { commit: string } | { error: string }>();
  private readonly verdicts = new Map<string, Verdict>();
  private readonly searches = new Map<string, SearchState | "done">();

  putChangeSet(changeSet: ChangeSetQueued): Promise<void> {
    this.changeSets.delete(changeSet.change_set_id);
    this.changeSets.set(changeSet.change_set_id, changeSet);
    for (const key of this.changeSets.keys()) {
      if (this.changeSets.size <= KEPT_CHANGE_SETS) break;
      this.changeSets.delete(key);
    }
    return Promise.resolve();
  }

  getChangeSet(id: string): Promise<ChangeSetQueued | undefined> {
    return Promise.resolve(this.changeSets.get(id));
  }

  setComposed(id: string, composed: { commit: string } | { error: string }): Promise<void> {
    this.composed.set(id, composed);
    return Promise.resolve();
  }

  getComposed(id: string): Promise<{ commit: string } | { error: string } | undefined> {
    return Promise.resolve(this.composed.get(id));
  }

  forgetComposed(id: string): Promise<void> {
    this.composed.delete(id);
    return Promise.resolve();
  }

  composedTo(commit: string): Promise<string[]> {
    return Promise.resolve([...this.composed].filter(([, c]) => "commit" in c && c.commit === commit).map(([id]) => id));
  }

  setVerdict(commit: string, verdict: Verdict): Promise<void> {
    this.verdicts.set(commit, verdict);
    return Promise.resolve();
  }

  getVerdict(commit: string): Promise<Verdict | undefined> {
    return Promise.resolve(this.verdicts.get(commit));
  }

  startSearch(state: SearchState): Promise<boolean> {
    if (this.searches.has(state.parent.change_set_id)) return Promise.resolve(false);
    this.searches.set(state.parent.change_set_id, structuredClone(state));
    return Promise.resolve(true);
  }

  recordAnswer(parentId: string, key: string, verdict: Verdict): Promise<void> {
    const search = this.searches.get(parentId);
    if (search && search !== "done") search.answers[key] = verdict;
    return Promise.resolve();
  }

  running(): Promise<SearchState[]> {
    return Promise.resolve([...this.searches.values()].filter((s): s is SearchState => s !== "done").map((s) => structuredClone(s)));
  }

  finishSearch(parentId: string): Promise<void> {
    this.searches.set(parentId, "done");
    return Promise.resolve();
  }
}

export function memoryStores(): GatekeeperStores {
  return {
    results: new MemoryResultStore(),
    waivers: new MemoryWaiverStore(),
    decisions: new MemoryDecisionStore(),
    culprits: new MemoryCulpritStore(),
    close: () => Promise.resolve(),
  };
}
