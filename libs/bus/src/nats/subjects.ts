import { createHash } from "node:crypto";

/**
 * AMQP topic patterns versus NATS subjects. Both use `.` between words; AMQP's `*` is NATS's
 * `*`, but AMQP's `#` (zero or more words, anywhere) has no exact NATS equivalent: NATS's
 * `>` means one or more words and only at the end. JetStream also refuses consumer filters
 * that overlap each other or reach outside the stream, and servers before 2.10 take a single
 * filter only. So a consumer's bindings become a set of filters that is at least as wide as
 * the bindings, plus `exact: false` when it is wider and each message has to be checked
 * against the bindings in code (the transport always does that check; it is cheap).
 */

export interface SubjectFilter {
  /** Filter subjects for the durable consumer; empty means the whole stream. */
  subjects: string[];
  /** True when these filters match exactly what the bindings match, within the stream. */
  exact: boolean;
}

type Tokens = readonly string[];

/** A literal NATS token: non-empty, no whitespace, no wildcard characters. */
function isLiteralToken(token: string): boolean {
  return token.length > 0 && !/[\s*>]/.test(token);
}

/** Whether `subject` can be published on NATS (literal tokens only). */
export function isPublishableSubject(subject: string): boolean {
  return subject.split(".").every(isLiteralToken);
}

/**
 * One AMQP pattern as NATS subjects. `a.#` also matches `a` (zero words), so it becomes
 * `a.>` and `a`. `#` followed by more words cannot be expressed: the pattern is cut to
 * `>` at the first `#` and marked inexact. Words NATS cannot carry (empty, whitespace,
 * wildcard characters inside a word) become `*`, also inexact.
 */
export function bindingToSubjects(pattern: string): SubjectFilter {
  const words = pattern.split(".");
  const out: string[] = [];
  let exact = true;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === "#") {
      const rest = words.slice(i + 1);
      const subjects = [[...out, ">"].join(".")];
      if (rest.every((w) => w === "#")) {
        // Trailing #s may match zero words: the bare prefix is a match too.
        if (out.length > 0) subjects.push(out.join("."));
      } else {
        exact = false;
      }
      return { subjects, exact };
    }
    if (word === "*" || isLiteralToken(word)) {
      out.push(word);
    } else {
      out.push("*");
      exact = false;
    }
  }
  return { subjects: [out.join(".")], exact };
}

/** The subjects matched by both patterns, as one pattern; undefined when there are none. */
export function intersectSubjects(a: string, b: string): string | undefined {
  const ta = a.split(".");
  const tb = b.split(".");
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined || y === undefined) return x === y ? out.join(".") : undefined;
    if (x === ">") return [...out, ...tb.slice(i)].join(".");
    if (y === ">") return [...out, ...ta.slice(i)].join(".");
    if (x === "*") out.push(y);
    else if (y === "*" || x === y) out.push(x);
    else return undefined;
  }
}

/** Whether every subject `a` matches is matched by `b`. */
export function isSubsetSubject(a: string, b: string): boolean {
  const ta = a.split(".");
  const tb = b.split(".");
  for (let i = 0; ; i++) {
    const x = ta[i];
    const y = tb[i];
    if (y === ">") return x !== undefined;
    if (x === undefined || y === undefined) return x === y;
    if (x === ">") return false;
    if (y !== "*" && x !== y) return false;
  }
}

/** The narrowest single pattern this code builds that covers both `a` and `b`. */
function generalize(a: string, b: string): string {
  const ta: Tokens = a.split(".");
  const tb: Tokens = b.split(".");
  const out: string[] = [];
  const sameLength = ta.length === tb.length && !ta.includes(">") && !tb.includes(">");
  // With different lengths (or a `>`) the last word of the shorter one must go under `>`.
  const fixed = sameLength ? ta.length : Math.min(ta.length, tb.length) - 1;
  for (let i = 0; i < fixed; i++) {
    const x = ta[i] as string;
    const y = tb[i] as string;
    if (x === ">" || y === ">") break;
    out.push(x === y ? x : "*");
  }
  if (!sameLength) out.push(">");
  return out.join(".");
}

/** Drop subjects covered by another one. */
function minimize(subjects: readonly string[]): string[] {
  const unique = [...new Set(subjects)];
  return unique.filter((s, i) => !unique.some((o, j) => j !== i && isSubsetSubject(s, o)));
}

export interface TranslateOptions {
  /** The subjects the stream captures; filters must stay inside them. */
  streamSubjects: readonly string[];
  /** Server ≥ 2.10 accepts several filter subjects per consumer. */
  multipleFilters: boolean;
}

/**
 * Consumer filter subjects for a set of AMQP bindings: inside the stream, no two
 * overlapping, and a single one (or none: the whole stream) on servers before 2.10.
 */
export function translateBindings(bindings: readonly string[], options: TranslateOptions): SubjectFilter {
  let exact = true;
  const wanted: string[] = [];
  for (const binding of bindings) {
    const one = bindingToSubjects(binding);
    if (!one.exact) exact = false;
    for (const subject of one.subjects) {
      for (const streamSubject of options.streamSubjects) {
        const inside = intersectSubjects(subject, streamSubject);
        if (inside !== undefined) wanted.push(inside);
      }
    }
  }
  let subjects = minimize(wanted);
  // JetStream refuses overlapping filters: merge each overlapping pair into one wider filter.
  for (;;) {
    const pair = findOverlap(subjects);
    if (!pair) break;
    exact = false;
    const [i, j] = pair;
    const merged = generalize(subjects[i] as string, subjects[j] as string);
    subjects = minimize([...subjects.filter((_, k) => k !== i && k !== j), merged]);
  }
  if (!options.multipleFilters && subjects.length > 1) {
    exact = false;
    const one = subjects.reduce(generalize);
    subjects = options.streamSubjects.some((s) => isSubsetSubject(one, s)) ? [one] : [];
  }
  // A merged filter can end up outside the stream; then filter in code over the whole stream.
  if (subjects.some((s) => !options.streamSubjects.some((st) => isSubsetSubject(s, st)))) {
    exact = false;
    subjects = [];
  }
  return { subjects, exact };
}

function findOverlap(subjects: readonly string[]): [number, number] | undefined {
  for (let i = 0; i < subjects.length; i++) {
    for (let j = i + 1; j < subjects.length; j++) {
      if (intersectSubjects(subjects[i] as string, subjects[j] as string) !== undefined) return [i, j];
    }
  }
  return undefined;
}

/** Whether two subject patterns can both match some subject. */
export function subjectsOverlap(a: string, b: string): boolean {
  return intersectSubjects(a, b) !== undefined;
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 10);
}

/**
 * The durable consumer name for a queue name. NATS names may not contain `.`, `*`, `>`,
 * whitespace or path separators; those become `_` and, because that alone could make two
 * queue names collide (`a.b` and `a_b`), a hash of the original name is appended. Names
 * that need no change are kept as they are, so they stay readable in `nats consumer ls`.
 */
export function durableName(queue: string): string {
  const safe = queue.replace(/[^A-Za-z0-9_-]/g, "_");
  if (safe === queue && queue.length > 0 && queue.length <= 200) return queue;
  return `${safe.slice(0, 180)}-${shortHash(queue)}`;
}

/**
 * The subject dead-lettered copies of a consumer go to: `<prefix>.<deadLetter>`. The
 * dead-letter name keeps its dots (they become subject levels); words NATS cannot carry
 * are replaced by `_`, and empty words dropped.
 */
export function deadLetterSubject(deadLetter: string, prefix = "atomic-ci.dead-letter"): string {
  const words = deadLetter
    .split(".")
    .filter((w) => w.length > 0)
    .map((w) => w.replace(/[\s*>]/g, "_"));
  return [prefix, ...(words.length > 0 ? words : ["_"])].join(".");
}
