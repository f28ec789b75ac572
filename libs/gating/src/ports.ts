import type { ResultsdbResult, WaiverdbWaiver } from "@atomic-ci/messages";
import type { Policy } from "./policy.js";
import type { Subject } from "./subject.js";

/** What fetching a package's gating.yaml (dist-git at the build's commit) came to. */
export type RemoteGatingYaml =
  | { found: true; text: string; source?: string }
  | { found: false }
  | { error: string };

/**
 * The decision core's view of the world; the caller wires ResultsDB, WaiverDB, dist-git and
 * the definition repository's policies. Injected so decisions are pure and testable.
 */
export interface DecisionPorts {
  policies: readonly Policy[];
  /** Results for the subject, optionally only for one test case (ResultsDB `item` + `testcases`). */
  results(subject: Subject, testcase?: string): Promise<readonly ResultsdbResult[]>;
  /** Waivers for the subject at a product version. */
  waivers(subject: Subject, productVersion: string): Promise<readonly WaiverdbWaiver[]>;
  /** The subject's gating.yaml; `sources` are the RemoteRule's URL templates (may be empty). */
  remoteGatingYaml(subject: Subject, sources: readonly string[]): Promise<RemoteGatingYaml>;
  /** A group subject's member builds (bodhi_update / koji-build-group); none if absent. */
  groupMembers?(subject: Subject): Promise<readonly Subject[]>;
  /** The clock, for valid_since / valid_until when the request has no `when`. */
  now?(): Date;
}
