// Culprit finding, pure: which units of a change set that failed the compose gate are to blame.
// The oracle composes and gates a set of members (in the service: a `bisect` change set); here it
// is any async function, so the algorithm is tested with a fake one (docs/gating.md, "Broken
// combinations").
//
// Design (Zuul-like, in order, with speculation): the units are taken in their order on top of
// the base. A binary search finds the shortest prefix that fails together with the units
// already accepted; the unit that ends it is the next culprit and every unit before it is
// accepted (that prefix passed). Then, in ONE round of parallel composes, the search asks
// everything the next steps may need: the culprit alone (failing alone: rejected as `alone`;
// passing: it breaks only with something accepted), the accepted units with all remaining ones
// (passing: all accepted, the search ends), and speculatively the first halving step of each
// search that may follow (the remaining units' next culprit, the culprit's partner among the
// accepted). A combination names the partner found by a binary search over the accepted units
// and rejects the later unit. Answers are memoized per member set, so no set is composed twice.
// Assumes failures are monotone (adding changes to a failing set keeps it failing) and the base
// passes. A unit (builds declared together) is never split: every set asked is a union of units.

export type Verdict = { pass: true } | { pass: false; failing: readonly string[] };

/** A unit moves as one (a build, or builds declared together): its members' keys. */
export type Unit = readonly string[];

export interface Culprit {
  kind: "alone" | "combination";
  /** alone: the unit's members; combination: the partner's members, then the rejected unit's. */
  members: string[];
  /** The members rejected for it. */
  rejected: string[];
  /** What failed on the smallest failing set. */
  failing: string[];
  /** That smallest failing set (sorted member keys). */
  failingSet: string[];
}

export interface CulpritReport {
  culprits: Culprit[];
  /** Members accepted: they pass together on the base. */
  accepted: string[];
  /** Whether exactly the accepted set was composed and passed (false when it is empty or was never composed as such). */
  acceptedComposed: boolean;
  /** Oracle calls (subset composes), the failing whole not counted. */
  composesTried: number;
  /** Rounds of parallel oracle calls (compose+test cycles in wall-clock terms). */
  rounds: number;
}

export type Oracle = (members: readonly string[]) => Promise<Verdict>;

/** The memo key of a member set (sorted, unique). */
export const memberSetKey = (members: readonly string[]): string => JSON.stringify([...new Set(members)].sort());
const flat = (units: readonly Unit[]) => [...new Set(units.flat())].sort();

export interface FindOptions {
  /** Answers known already (a search resumed after a restart), by memberSetKey: not asked again, not counted. */
  known?: Readonly<Record<string, Verdict>>;
  /** Told each new answer before the search goes on (to keep it). */
  onAnswer?: (key: string, verdict: Verdict) => void | Promise<void>;
  /** Ask the sets the next steps may need in the same round (default true); false: one set per round. */
  speculate?: boolean;
}

/**
 * Find the culprits of `units`, which together failed with `whole` (that verdict is known:
 * it is not asked again).
 */
export async function findCulprits(units: readonly Unit[], whole: Extract<Verdict, { pass: false }>, oracle: Oracle, options: FindOptions = {}): Promise<CulpritReport> {
  const memo = new Map<string, Verdict>([...Object.entries(options.known ?? {}), [memberSetKey(flat(units)), whole], [memberSetKey([]), { pass: true }]]);
  const speculate = options.speculate ?? true;
  let composesTried = 0;
  let rounds = 0;

  /** One round: every set not answered yet, composed in parallel. */
  const askAll = async (sets: readonly (readonly Unit[])[]): Promise<void> => {
    const asked = new Map<string, string[]>();
    for (const set of sets) {
      const members = flat(set);
      const key = memberSetKey(members);
      if (!memo.has(key)) asked.set(key, members);
    }
    if (asked.size === 0) return;
    rounds++;
    composesTried += asked.size;
    const answers = await Promise.all([...asked.values()].map((members) => oracle(members)));
    let i = 0;
    for (const key of asked.keys()) {
      const verdict = answers[i++] as Verdict;
      memo.set(key, verdict);
      await options.onAnswer?.(key, verdict);
    }
  };
  const verdictOf = (set: readonly Unit[]) => memo.get(memberSetKey(flat(set)));
  const fails = async (set: readonly Unit[]) => {
    await askAll([set]);
    return verdictOf(set)?.pass === false;
  };
  const failingOf = async (set: readonly Unit[]) => {
    await askAll([set]);
    const v = verdictOf(set);
    return v && !v.pass ? [...v.failing] : [];
  };
  /** The binary search's first probe on [1, length]. */
  const firstMid = (length: number) => Math.floor((1 + length) / 2);

  /** Smallest n in [1, length] with failsAt(n); failsAt(length) is known true. */
  const shortestFailingPrefix = async (length: number, failsAt: (n: number) => Promise<boolean>): Promise<number> => {
    let lo = 1;
    let hi = length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await failsAt(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  let accepted: Unit[] = [];
  let rest: Unit[] = [...units];
  const culprits: Culprit[] = [];
  // Invariant: accepted passes; accepted + rest fails.
  while (rest.length > 0) {
    const base = accepted;
    const remaining = rest;
    const n = await shortestFailingPrefix(remaining.length, (k) => fails([...base, ...remaining.slice(0, k)]));
    const culprit = remaining[n - 1] as Unit;
    const kept = [...base, ...remaining.slice(0, n - 1)];
    const after = remaining.slice(n);

    // One round for what comes next, whatever the answers: the culprit alone, the rest on top
    // of what is accepted, and the first probes of the searches that may follow.
    const round: Unit[][] = [];
    if (kept.length > 0) round.push([culprit]);
    if (after.length > 0) round.push([...kept, ...after]);
    if (speculate) {
      if (after.length > 1) round.push([...kept, ...after.slice(0, firstMid(after.length))]);
      if (kept.length > 1) round.push([...kept.slice(0, firstMid(kept.length)), culprit]);
      await askAll(round);
    }

    if (kept.length === 0 || (await fails([culprit]))) {
      culprits.push({ kind: "alone", members: [...culprit], rejected: [...culprit], failing: await failingOf([culprit]), failingSet: flat([culprit]) });
    } else {
      const p = await shortestFailingPrefix(kept.length, (k) => fails([...kept.slice(0, k), culprit]));
      const partner = kept[p - 1] as Unit;
      const smallest = [...kept.slice(0, p), culprit];
      culprits.push({ kind: "combination", members: [...partner, ...culprit], rejected: [...culprit], failing: await failingOf(smallest), failingSet: flat(smallest) });
    }
    accepted = kept;
    rest = after;
    if (rest.length === 0) break;
    if (!(await fails([...accepted, ...rest]))) {
      accepted = [...accepted, ...rest];
      rest = [];
    }
  }
  const acceptedMembers = flat(accepted);
  return {
    culprits,
    accepted: acceptedMembers,
    acceptedComposed: acceptedMembers.length > 0 && memo.get(memberSetKey(acceptedMembers))?.pass === true,
    composesTried,
    rounds,
  };
}
