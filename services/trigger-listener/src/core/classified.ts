import type { ChangeSetMember, IgnoredReasonCode } from "@atomic-ci/messages";
import type { PendingChange, TriggerInput, TriggerRules } from "./types.js";

/** What the classifiers make of one upstream message. */
export interface Ignore {
  kind: "ignore";
  code: IgnoredReasonCode;
  reason: string;
  package?: string;
  nvr?: string;
  repo?: string;
  branch?: string;
}

export interface Change {
  kind: "change";
  change: Omit<PendingChange, "arrivedAt">;
  /** Operator requests skip the batching window: "compose now" means now. */
  immediate: boolean;
  unparsedDependsOn: string[];
}

export interface Rerun {
  kind: "rerun";
  changeSetId: string;
  member: ChangeSetMember;
  requestedBy: string;
}

export type Classified = Ignore | Change | Rerun;

export interface ClassifyContext {
  rules: TriggerRules;
  host: ReadonlySet<string>;
}

/** Source fields of every member the message brings. */
export function sourceOf(input: TriggerInput): { source_message_id: string; source_topic: string } {
  return { source_message_id: input.id, source_topic: input.topic };
}

export function change(members: ChangeSetMember[], reason: PendingChange["reason"], extra: Partial<Change> = {}): Change {
  return { kind: "change", change: { members, reason, dependsOn: [] }, immediate: false, unparsedDependsOn: [], ...extra };
}

