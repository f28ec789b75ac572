import { GreenwaveDecisionUpdate } from "@atomic-ci/messages";
import type { Decision } from "./decide.js";
import type { Subject } from "./subject.js";

/** The parts of a decision whose change is worth a message (Greenwave compares these). */
function essence(decision: Decision): unknown {
  return {
    policies_satisfied: decision.policies_satisfied,
    summary: decision.summary,
    applicable_policies: decision.applicable_policies ?? [],
    satisfied_requirements: decision.satisfied_requirements,
    unsatisfied_requirements: decision.unsatisfied_requirements,
  };
}

export interface DecisionChangeInput {
  subject: Subject;
  product_version: string;
  decision_context: string;
  /** The decision last published (or computed) for this subject/product version/context; null if none. */
  previous: Decision | null;
  current: Decision;
}

/**
 * The `greenwave.decision.update` body for a re-decision, or undefined when nothing changed
 * (Greenwave publishes only on change). The body is checked against the messages schema.
 */
export function decisionUpdate(input: DecisionChangeInput): GreenwaveDecisionUpdate | undefined {
  const { previous, current } = input;
  if (previous && JSON.stringify(essence(previous)) === JSON.stringify(essence(current))) return undefined;
  const body = {
    subject_type: input.subject.type,
    subject_identifier: input.subject.identifier,
    subject: [{ type: input.subject.type, item: input.subject.identifier }],
    product_version: input.product_version,
    decision_context: input.decision_context,
    ...(essence(current) as object),
    previous: previous ? essence(previous) : null,
  };
  return GreenwaveDecisionUpdate.parse(body);
}
