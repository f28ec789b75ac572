// Bodies shaped as the services send them (test-runner's messages.ts, the gatekeeper's
// decisions, the publisher's messages.ts), each checked against its schema by the tests.
import { changeSetIdOf, type ChangeSetMember } from "@atomic-ci/messages";

export const T0 = Date.parse("2026-11-26T09:00:00Z");
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

export const COMMIT = "a1b2c3d4e5f6".padEnd(64, "0");
export const INPUT_HASH = "f".repeat(64);
export const LOG = "https://ci.example.org/artifacts/cs/podman/output.txt";

export function buildMember(nvr: string, pkg = nvr.split("-").slice(0, -2).join("-")): ChangeSetMember {
  return { kind: "build", package: pkg, nvr, build_id: 2861234, source_message_id: `msg-${nvr}`, source_topic: "org.fedoraproject.prod.buildsys.build.state.change" };
}

export function changeSetQueued(members: ChangeSetMember[], seconds = 0) {
  return {
    change_set_id: changeSetIdOf(members),
    version: "1.0.0",
    generated_at: at(seconds),
    reason: "koji-build",
    members,
    definition: { repo: "fedora-atomic", branch: "f41" },
  };
}

export const composeId = (cs: string) => `${cs}.1`;

export function composeQueued(cs: string, seconds = 1) {
  return { change_set_id: cs, compose_id: composeId(cs), version: "1.0.0", generated_at: at(seconds) };
}

export function composeComplete(cs: string, commit = COMMIT, seconds = 2) {
  return {
    change_set_id: cs,
    compose_id: composeId(cs),
    version: "1.0.0",
    generated_at: at(seconds),
    ref: "fedora/41/x86_64/atomic-host",
    commit,
    parent: null,
    os_version: "41.20261126.0",
    input_hash: INPUT_HASH,
    repo: { location: "/srv/ostree/repo" },
    lockfile: { location: "/srv/lockfiles/x.json", sha256: INPUT_HASH },
    pkgdiff: { added: [], removed: [], upgraded: [{ from: "podman-5.2.0-1.fc41.x86_64", to: "podman-5.3.0-1.fc41.x86_64" }], downgraded: [] },
    reused: false,
    timestamp: at(seconds),
  };
}

export function composeError(cs: string, seconds = 2) {
  return { change_set_id: cs, compose_id: composeId(cs), version: "1.0.0", generated_at: at(seconds), kind: "compose-failure", reason: "nothing provides libfoo.so.2", missing_dependency: "libfoo.so.2" };
}

function ciCommon(cs: string, component: string, seconds: number) {
  return {
    contact: { name: "atomic-ci", team: "atomic-ci", docs: "https://atomic-ci.example.org/docs", email: "atomic-ci@example.org" },
    run: { url: `https://ci.example.org/runs/${component}`, log: LOG },
    artifact: { type: "productmd-compose", id: composeId(cs), compose_type: "ci" },
    pipeline: { id: `${composeId(cs)}.atomic-ci.${component}.tests`, name: "atomic-ci test-runner" },
    test: { category: "functional", namespace: `atomic-ci.${component}`, type: "tests", scenario: "x86_64.bwrap" },
    generated_at: at(seconds),
    version: "1.1.14",
  };
}

export function testQueued(cs: string, component: string, seconds = 3) {
  return ciCommon(cs, component, seconds);
}

export function testComplete(cs: string, component: string, result: "passed" | "failed", seconds = 4) {
  const common = ciCommon(cs, component, seconds);
  return {
    ...common,
    test: { ...common.test, result, runtime: 1.5, output_urls: [LOG], ...(result === "failed" ? { output: "FAIL: podman run exited 125" } : {}) },
    system: [{ os: "fedora-atomic-host-41.20261126.0", provider: "bwrap", architecture: "x86_64" }],
  };
}

export function result(cs: string, component: string, outcome: string, id: number, seconds = 4, commit = COMMIT) {
  return {
    id,
    outcome,
    testcase: { name: `atomic-ci.${component}.tests.functional`, ref_url: "https://atomic-ci.example.org/docs" },
    data: { item: [commit], type: ["compose"], compose_id: [composeId(cs)], change_set_id: [cs], arch: ["x86_64"], scenario: ["x86_64.bwrap"], component: [component] },
    note: outcome === "FAILED" ? "FAIL: podman run exited 125" : "",
    ref_url: LOG,
    submit_time: at(seconds),
  };
}

export function decision(commit: string, satisfied: boolean, unsatisfied: Record<string, unknown>[], context = "atomic_ci_compose_gate") {
  return {
    subject_type: "compose",
    subject_identifier: commit,
    subject: [{ type: "compose", item: commit }],
    product_version: "fedora-41",
    decision_context: context,
    policies_satisfied: satisfied,
    summary: satisfied ? "All required tests passed" : `${unsatisfied.length} of 2 required tests failed`,
    applicable_policies: ["atomic-ci-compose-gate"],
    satisfied_requirements: [],
    unsatisfied_requirements: unsatisfied,
  };
}

export function failedRequirement(commit: string, component: string) {
  return {
    type: "test-result-failed",
    testcase: `atomic-ci.${component}.tests.functional`,
    subject_type: "compose",
    subject_identifier: commit,
    scenario: null,
    source: null,
    result_id: 7,
    result_state: "FAILED",
    item: { type: "compose", item: commit },
  };
}

export function missingRequirement(commit: string, testcase: string, state?: "QUEUED" | "RUNNING") {
  return {
    type: "test-result-missing",
    testcase,
    subject_type: "compose",
    subject_identifier: commit,
    scenario: null,
    source: null,
    item: { type: "compose", item: commit },
    ...(state ? { result_id: 9, result_state: state, details: `latest result is ${state}` } : {}),
  };
}

export function waiver(id: number, commit: string, testcase: string, seconds = 10) {
  return {
    id,
    subject_type: "compose",
    subject_identifier: commit,
    testcase,
    product_version: "fedora-41",
    waived: true,
    comment: "known flake, https://tracker.example/42",
    username: "jdoe",
    proxied_by: null,
    scenario: null,
    timestamp: at(seconds),
  };
}

export function held(stream: string, commit: string, cs: string, seconds = 11) {
  return {
    version: "1.0.0",
    generated_at: at(seconds),
    stream,
    os_version: "41.20261126.0",
    commit,
    ref: "fedora/41/x86_64/atomic-host",
    compose_id: composeId(cs),
    change_set_id: cs,
    reasons: [{ kind: "freeze", detail: "f41 beta freeze", until: at(86_400) }],
  };
}

export function delivered(stream: string, commit: string, cs: string, seconds = 12) {
  return {
    version: "1.0.0",
    generated_at: at(seconds),
    stream,
    os_version: "41.20261126.0",
    commit,
    ref: `fedora/41/x86_64/${stream}`,
    compose_id: composeId(cs),
    change_set_id: cs,
    already_promoted: false,
    public: { repo: "repo/stable", stream_metadata: `streams/${stream}.json`, release_metadata: `prod/streams/${stream}/builds/41.20261126.0/release.json`, images: [] },
  };
}

export function holdSet(stream: string, seconds = 13) {
  return { version: "1.0.0", generated_at: at(seconds), stream, requested_by: "ops-alice", reason: "https://tracker.example/77 mirror outage" };
}
