// Test-only: the pipeline's answers to an operator request, as the services would publish them
// (valid per @atomic-ci/messages), for the unit tests of follow.ts and the --wait integration test.

const NOW = "2026-01-02T03:04:05Z";
const V = { version: "1.0.0", generated_at: NOW };

export interface Said {
  /** Topic without prefix. */
  topic: string;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

const hex = (c: string, n: number) => c.repeat(n);

export class PipelineScript {
  readonly commit: string;
  readonly composeId: string;

  constructor(
    readonly changeSetId = "cs-00000000000000aa",
    readonly commitChar = "c",
  ) {
    this.commit = hex(commitChar, 64);
    this.composeId = `atomic-ci-${changeSetId.slice(3)}`;
  }

  private cs(): Record<string, string> {
    return { atomic_ci_change_set: this.changeSetId };
  }

  queued(requestId: string, action: "compose" | "rerun" = "compose"): Said {
    return {
      topic: "pipeline.change-set.queued",
      headers: this.cs(),
      body: {
        change_set_id: this.changeSetId,
        ...V,
        reason: "operator",
        members: [{ kind: "operator-request", action, requested_by: "alice", source_message_id: requestId, source_topic: "org.example.pipeline.operator.request" }],
        definition: { repo: "fedora-atomic", branch: "f41" },
        requested_by: "alice",
      },
    };
  }

  ignored(requestId: string): Said {
    return {
      topic: "pipeline.change-set.ignored",
      headers: {},
      body: { ...V, source_message_id: requestId, source_topic: "org.example.pipeline.operator.request", reason_code: "unknown-change-set", reason: "no change set cs-0000000000000001 within the retention" },
    };
  }

  compose(state: "queued" | "running"): Said {
    return { topic: `pipeline.compose.${state}`, headers: this.cs(), body: { change_set_id: this.changeSetId, compose_id: this.composeId, ...V } };
  }

  complete(reused = false): Said {
    return {
      topic: "pipeline.compose.complete",
      headers: this.cs(),
      body: {
        change_set_id: this.changeSetId,
        compose_id: this.composeId,
        ...V,
        ref: "fedora/41/x86_64/atomic-host",
        commit: this.commit,
        parent: null,
        os_version: "41.20260102.0",
        input_hash: hex("1", 64),
        repo: { location: "/srv/repo" },
        lockfile: { location: "/srv/lock.json", sha256: hex("2", 64) },
        pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] },
        reused,
        timestamp: NOW,
      },
    };
  }

  composeError(): Said {
    return { topic: "pipeline.compose.error", headers: this.cs(), body: { change_set_id: this.changeSetId, compose_id: this.composeId, ...V, kind: "compose-failure", reason: "nothing provides libfoo.so.2" } };
  }

  test(name: string, state: "queued" | "running" | "complete" | "error", result: "passed" | "failed" = "passed"): Said {
    const body: Record<string, unknown> = {
      contact: { name: "atomic-ci", team: "atomic-ci", docs: "https://example.org/docs", email: "ci@example.org" },
      run: { url: "https://example.org/run/1", log: "https://example.org/run/1/log" },
      artifact: { type: "productmd-compose", id: this.composeId, compose_type: "ci" },
      pipeline: { id: `${this.composeId}.${name}`, name: "atomic-ci test-runner" },
      test: { category: "functional", namespace: "atomic-ci.compose", type: name, scenario: "x86_64.bwrap" },
      generated_at: NOW,
      version: "1.1.14",
    };
    if (state === "complete") {
      body["test"] = { ...(body["test"] as object), result };
      body["system"] = [{ os: "fedora-41", provider: "bwrap", architecture: "x86_64" }];
    }
    if (state === "error") body["error"] = { reason: "the sandbox died" };
    return { topic: `ci.productmd-compose.test.${state}`, headers: this.cs(), body };
  }

  /** A gatekeeper decision on the compose (no change set header: the gatekeeper knows commits). */
  decision(context: string, satisfied: boolean, unsatisfied: Record<string, unknown>[] = []): Said {
    const subject = { subject_type: "compose", subject_identifier: this.commit };
    return {
      topic: "greenwave.decision.update",
      headers: {},
      body: {
        ...subject,
        subject: [{ type: "compose", item: this.commit }],
        product_version: "fedora-41",
        decision_context: context,
        policies_satisfied: satisfied,
        summary: satisfied ? "All required tests (2 total) have passed or been waived" : "Of 2 required tests, 1 test failed",
        applicable_policies: ["compose-gate"],
        unsatisfied_requirements: unsatisfied.map((u) => ({ ...subject, scenario: null, source: null, ...u })),
        previous: null,
      },
    };
  }

  image(state: "queued" | "complete" | "error"): Said {
    const common = { change_set_id: this.changeSetId, compose_id: this.composeId, ref: "fedora/41/x86_64/atomic-host", commit: this.commit, ...V };
    const body: Record<string, unknown> =
      state === "queued"
        ? { ...common, formats: ["qcow2"] }
        : state === "error"
          ? { ...common, kind: "image-failure", reason: "not bootable" }
          : { ...common, os_version: "41.20260102.0", images: { qcow2: { path: "/srv/x.qcow2", sha256: hex("3", 64), size: 1 } }, meta: { location: "/srv/meta.json" }, reused: [] };
    return { topic: `pipeline.image.${state}`, headers: this.cs(), body };
  }

  held(kind: string, detail: string): Said {
    return { topic: "pipeline.release.held", headers: this.cs(), body: { ...V, stream: "testing", os_version: "41.20260102.0", commit: this.commit, change_set_id: this.changeSetId, reasons: [{ kind, detail }] } };
  }

  delivered(): Said {
    return {
      topic: "pipeline.release.delivered",
      headers: this.cs(),
      body: {
        ...V,
        stream: "testing",
        os_version: "41.20260102.0",
        commit: this.commit,
        ref: "fedora/testing/x86_64/atomic-host",
        change_set_id: this.changeSetId,
        already_promoted: false,
        public: { repo: "repo", stream_metadata: "streams/testing.json", release_metadata: "prod/streams/testing/builds/41.20260102.0/release.json", images: [] },
      },
    };
  }
}

/** A failing test requirement as the gatekeeper words it. */
export const FAILED = { type: "test-result-failed", testcase: "atomic-ci.compose.host-tests.functional", result_id: 7, item: { type: "compose", item: "x" } };
/** A result still running. */
export const RUNNING = { type: "test-result-missing", testcase: "atomic-ci.compose.host-tests.functional", result_id: 8, result_state: "RUNNING" };
