// Culprit finding, pure: which units of a change set that failed the compose gate are to blame.
// The oracle composes and gates a set of members (in the service: a `bisect` change set); here it
// is any async function, so the algorithm is tested with a fake one (docs/gating.md, "Broken
// combinations").
//
// Design (Zuul-like, in order): the units are taken in their order on top of the base. A binary
// search finds the shortest prefix that fails together with the units already accepted; the
// unit that ends it is the next culprit and every unit before it is accepted (that prefix
// passed). The culprit is then composed alone: failing alone, it is rejected as `alone`;
// passing alone, it breaks only with something accepted, and a second binary search over the
// accepted units finds the partner: a `combination` naming both, the later unit rejected (the
// partner stays: it passed with everything accepted before it). Then the accepted units plus
// all remaining ones are composed: passing, they are all accepted and the search ends; failing,
// the search goes on in the remaining units. Answers are memoized per member set, so no set is
// composed twice. Assumes failures are monotone (adding changes to a failing set keeps it
// failing) and the base passes.

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
}

export type Oracle = (members: readonly string[]) => Promise<Verdict>;

const setKey = (members: readonly string[]) => JSON.stringify([...new Set(members)].sort());
const flat = (units: readonly Unit[]) => [...new Set(units.flat())].sort();

/**
 * Find the culprits of `units`, which together failed with `whole` (that verdict is known:
 * it is not asked again).
 */
export async function findCulprits(units: readonly Unit[], whole: Extract<Verdict, { pass: false }>, oracle: Oracle): Promise<CulpritReport> {
  const memo = new Map<string, Verdict>([
    [setKey(flat(units)), whole],
    [setKey([]), { pass: true }],
  ]);
  let composesTried = 0;
  const ask = async (set: readonly Unit[]): Promise<Verdict> => {
    const members = flat(set);
    const key = setKey(members);
    let verdict = memo.get(key);
    if (!verdict) {
      composesTried++;
      verdict = await oracle(members);
      memo.set(key, verdict);
    }
    return verdict;
  };
  const fails = async (set: readonly Unit[]) => !(await ask(set)).pass;
  const failingOf = async (set: readonly Unit[]) => {
    const v = await ask(set);
    return v.pass ? [] : [...v.failing];
  };

  /** Smallest n in [1, items.length] with fails(prefix(n)); fails(prefix(items.length)) is known true. */
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
    accepted = [...base, ...remaining.slice(0, n - 1)];
    rest = remaining.slice(n);

    if (accepted.length === 0 || (await fails([culprit]))) {
      culprits.push({ kind: "alone", members: [...culprit], rejected: [...culprit], failing: await failingOf([culprit]), failingSet: flat([culprit]) });
    } else {
      const partners = accepted;
      const p = await shortestFailingPrefix(partners.length, (k) => fails([...partners.slice(0, k), culprit]));
      const partner = partners[p - 1] as Unit;
      const smallest = [...partners.slice(0, p), culprit];
      culprits.push({ kind: "combination", members: [...partner, ...culprit], rejected: [...culprit], failing: await failingOf(smallest), failingSet: flat(smallest) });
    }
    if (rest.length === 0) break;
    if (!(await fails([...accepted, ...rest]))) {
      accepted = [...accepted, ...rest];
      rest = [];
    }
  }
  const acceptedMembers = flat(accepted);
  return { culprits, accepted: acceptedMembers, acceptedComposed: acceptedMembers.length > 0 && memo.get(setKey(acceptedMembers))?.pass === true, composesTried };
}
