// The `compose-gate` trigger: images only for commits whose compose gate passed. compose.complete
// messages are remembered (in memory, bounded: the oldest are forgotten first), and a satisfied
// `atomic_ci_compose_gate` decision for a remembered commit releases its build. A decision may
// also come before its compose.complete reaches us; it is remembered too and the build starts
// when the compose arrives. This memory is the process's; the builder also keeps each waiting
// compose, and each passed gate, on disk so a restart does not lose them (builder.ts,
// docs/images.md). A commit whose gate passed is built again for every later compose.complete
// and satisfied decision: the images are reused, and image.complete is announced again, so
// what downstream lost (the image tests' results, after a Redis loss) is done again — the
// chaos suite found a release stranded at the image gate without it.
import type { ComposeComplete, GreenwaveDecisionUpdate } from "@atomic-ci/messages";

export const COMPOSE_GATE_CONTEXT = "atomic_ci_compose_gate";

/** A map that forgets its oldest entries past `limit` (insertion order; a set refreshes). */
class Bounded<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}

export type GateAnswer = { build: ComposeComplete } | { wait: string };

export class ComposeGateTrigger {
  private readonly composes: Bounded<ComposeComplete>;
  private readonly passed: Bounded<true>;
  private readonly built: Bounded<true>;

  constructor(
    limit: number,
    private readonly context = COMPOSE_GATE_CONTEXT,
  ) {
    this.composes = new Bounded(limit);
    this.passed = new Bounded(limit);
    this.built = new Bounded(limit);
  }

  /** A compose.complete: build now when its gate already passed, else remember it. */
  onCompose(compose: ComposeComplete): GateAnswer {
    this.composes.set(compose.commit, compose);
    if (this.passed.has(compose.commit)) return { build: compose };
    return { wait: "waiting for its compose gate" };
  }

  /** The gate passed for this commit (known from disk after a restart). */
  markPassed(commit: string): void {
    this.passed.set(commit, true);
  }

  /** Whether images of this commit were built since this process started (logs). */
  wasBuilt(commit: string): boolean {
    return this.built.has(commit);
  }

  /** A decision update: the remembered compose to build, or why nothing is built. */
  onDecision(update: GreenwaveDecisionUpdate): GateAnswer {
    if (update.subject_type !== "compose") return { wait: `subject type ${update.subject_type}, not compose` };
    if (update.decision_context !== this.context) return { wait: `decision context ${update.decision_context}, not ${this.context}` };
    const commit = update.subject_identifier;
    if (!update.policies_satisfied) return { wait: "the compose gate is not satisfied" };
    this.passed.set(commit, true);
    const compose = this.composes.get(commit);
    if (!compose) return { wait: "no compose.complete remembered for this commit (yet)" };
    return { build: compose };
  }

  /** The build was handled (complete or reported); the commit's gate stays passed and its compose remembered. */
  done(commit: string): void {
    this.built.set(commit, true);
  }

  /** Remembered composes (waiting for their gate, or built) (for logs and tests). */
  get waiting(): number {
    return this.composes.size;
  }
}
