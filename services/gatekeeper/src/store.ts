// In-memory state of the gatekeeper: the results it heard of (a ResultsDB index) and the
// waivers (WaiverDB). Both are rebuilt from the bus after a restart only as new messages come;
// a Redis-backed store is the planned replacement (docs/gating.md, "gatekeeper").
import type { Subject } from "@atomic-ci/gating";
import type { ResultsdbResult, WaiverdbWaiver } from "@atomic-ci/messages";

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

export class ResultIndex {
  private readonly byId = new Map<number, ResultsdbResult>();
  private readonly byItem = new Map<string, Set<number>>();

  /** Store (or replace, same id) a result. */
  add(result: ResultsdbResult): void {
    this.byId.set(result.id, result);
    for (const item of [...(result.data["item"] ?? []), ...composesOfResult(result)]) {
      let ids = this.byItem.get(item);
      if (!ids) this.byItem.set(item, (ids = new Set()));
      ids.add(result.id);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  private about(identifier: string): ResultsdbResult[] {
    return [...(this.byItem.get(identifier) ?? [])].map((id) => this.byId.get(id)).filter((r): r is ResultsdbResult => r !== undefined);
  }

  /** ResultsDB's `GET /results?item=<id>&type=<type>&testcases=<name>`. `onCompose` keeps only results made on that compose. */
  forSubject(subject: Subject, testcase?: string, onCompose?: string): ResultsdbResult[] {
    return this.about(subject.identifier).filter(
      (r) =>
        (r.data["item"] ?? []).includes(subject.identifier) &&
        typeMatches(r, subject.type) &&
        (testcase === undefined || r.testcase.name === testcase) &&
        (onCompose === undefined || composesOfResult(r).includes(onCompose)),
    );
  }

  /** The builds tested on a compose: koji_build items of the results whose `data.compose` names it. */
  composeMembers(compose: string): string[] {
    const nvrs = new Set<string>();
    for (const r of this.about(compose)) {
      if (!composesOfResult(r).includes(compose)) continue;
      for (const s of subjectsOfResult(r)) if (s.type === "koji_build") nvrs.add(s.identifier);
    }
    return [...nvrs].sort();
  }

  /** Composes a build was tested on. */
  composesOf(nvr: string): string[] {
    return [...new Set(this.about(nvr).flatMap((r) => ((r.data["item"] ?? []).includes(nvr) ? composesOfResult(r) : [])))].sort();
  }

  /** The dist-git commit some result of the build names, newest result first. */
  commitOf(nvr: string): string | undefined {
    const results = this.about(nvr).sort((a, b) => b.id - a.id);
    for (const r of results) {
      const commit = commitOfResult(r);
      if (commit) return commit;
    }
    return undefined;
  }
}

export class WaiverStore {
  private readonly byId = new Map<number, WaiverdbWaiver>();

  add(waiver: WaiverdbWaiver): void {
    this.byId.set(waiver.id, waiver);
  }

  /** Ids of waivers made here continue after every id seen (WaiverDB's own or ours). */
  nextId(): number {
    return Math.max(0, ...this.byId.keys()) + 1;
  }

  all(): WaiverdbWaiver[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  forSubject(subject: Subject, productVersion: string): WaiverdbWaiver[] {
    return this.all().filter((w) => w.subject_type === subject.type && w.subject_identifier === subject.identifier && w.product_version === productVersion);
  }
}
