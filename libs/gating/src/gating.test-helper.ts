import type { ResultsdbOutcome, ResultsdbResult, WaiverdbWaiver } from "@atomic-ci/messages";
import { parsePolicies, type Policy } from "./policy.js";
import type { DecisionPorts, RemoteGatingYaml } from "./ports.js";
import type { Subject } from "./subject.js";

export const NVR = "rpm-ostree-2017.6-3.fc26";
export const BUILD: Subject = { type: "koji_build", identifier: NVR };

let nextId = 1;

export function result(
  testcase: string,
  outcome: ResultsdbOutcome,
  options: { item?: string; type?: string; scenario?: string; arch?: string; time?: string; id?: number; note?: string } = {},
): ResultsdbResult {
  const data: Record<string, string[]> = { item: [options.item ?? NVR], type: [options.type ?? "koji_build"] };
  if (options.scenario) data.scenario = [options.scenario];
  if (options.arch) data.arch = [options.arch];
  return {
    id: options.id ?? nextId++,
    outcome,
    testcase: { name: testcase },
    data,
    submit_time: options.time ?? "2017-06-01T10:00:00",
    ...(options.note ? { note: options.note } : {}),
  };
}

export function waiver(testcase: string, options: Partial<WaiverdbWaiver> = {}): WaiverdbWaiver {
  return {
    id: nextId++,
    subject_type: "koji_build",
    subject_identifier: NVR,
    testcase,
    product_version: "fedora-26",
    waived: true,
    comment: "known failure",
    username: "alice",
    scenario: null,
    timestamp: "2017-06-01T11:00:00",
    ...options,
  };
}

export function policies(text: string): Policy[] {
  const parsed = parsePolicies(text);
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  return parsed.policies;
}

/** Ports over in-memory lists; `remote` maps NVR to what the dist-git fetch yields. */
export function fakePorts(options: {
  policies: Policy[];
  results?: ResultsdbResult[];
  waivers?: WaiverdbWaiver[];
  remote?: Record<string, RemoteGatingYaml>;
  groups?: Record<string, Subject[]>;
}): DecisionPorts {
  return {
    policies: options.policies,
    results: (subject) => Promise.resolve((options.results ?? []).filter((r) => r.data.item?.includes(subject.identifier))),
    waivers: (subject) => Promise.resolve((options.waivers ?? []).filter((w) => w.subject_identifier === subject.identifier)),
    remoteGatingYaml: (subject) => Promise.resolve(options.remote?.[subject.identifier] ?? { found: false }),
    groupMembers: (subject) => Promise.resolve(options.groups?.[subject.identifier] ?? []),
    now: () => new Date("2017-06-02T00:00:00Z"),
  };
}
