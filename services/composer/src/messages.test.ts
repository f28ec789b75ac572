import type { Composed } from "@atomic-ci/compose";
import { ComposeCompleteMessage, ComposeErrorMessage, validateBody } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import { buildNvrs, completeBody, composeIdOf, ERROR_REASON_MAX_BYTES, errorBody, pkgdiffOf } from "./messages.js";

const NOW = new Date("2025-01-02T03:04:05Z");
const ID = "cs-0123456789abcdef";

const composed: Composed = {
  type: "composed",
  ref: "fedora/41/x86_64/atomic-host",
  commit: "a".repeat(64),
  version: "41.20250102.dev.0",
  timestamp: 1735787045,
  inputHash: "b".repeat(64),
  reused: false,
  parent: "c".repeat(64),
  packages: [],
  pkgdiff: { added: ["new-1-1.fc41.noarch"], removed: [], changed: [{ name: "ostree", from: "2024.8-1.fc41.x86_64", to: "2024.9-1.fc41.x86_64" }, { name: "podman", from: "5:5.2.5-1.fc41.x86_64", to: "5:5.1.2-1.fc41.x86_64" }] },
  lockfile: '{"packages":{}}\n',
  composeJson: "/srv/composes/20250102T030405Z-1234.json",
  imported: [],
  timings: {},
};

describe("composer message bodies", () => {
  it("split changed packages into upgrades and downgrades by EVR order (epoch included)", () => {
    expect(pkgdiffOf(composed.pkgdiff)).toEqual({
      added: ["new-1-1.fc41.noarch"],
      removed: [],
      upgraded: [{ from: "ostree-2024.8-1.fc41.x86_64", to: "ostree-2024.9-1.fc41.x86_64" }],
      downgraded: [{ from: "podman-5:5.2.5-1.fc41.x86_64", to: "podman-5:5.1.2-1.fc41.x86_64" }],
    });
  });

  it("complete is valid, names the lockfile beside the compose JSON with its digest", () => {
    const body = completeBody(ID, composed, "/srv/repo", NOW);
    expect(validateBody(ComposeCompleteMessage, body).ok).toBe(true);
    expect(body).toMatchObject({
      compose_id: "ci-cs-0123456789abcdef",
      os_version: "41.20250102.dev.0",
      parent: "c".repeat(64),
      repo: { location: "/srv/repo" },
      lockfile: { location: "/srv/composes/20250102T030405Z-1234.lock.json", sha256: "14356227b677cadbea9190ad66d417f8ad71c94853401d0dc2fb837e07b2ba85" },
      timestamp: "2025-01-02T03:04:05.000Z",
    });
  });

  it("error carries the kind and the missing dependency of a compose failure only", () => {
    const failure = errorBody(ID, { type: "compose-failure", reason: "nothing provides libndp >= 1.9", missingDependency: "libndp >= 1.9" }, NOW);
    expect(validateBody(ComposeErrorMessage, failure).ok).toBe(true);
    expect(failure).toMatchObject({ kind: "compose-failure", missing_dependency: "libndp >= 1.9" });
    const infra = errorBody(ID, { type: "infrastructure-error", reason: "" }, NOW);
    expect(infra).toMatchObject({ kind: "infrastructure-error", reason: "(no reason given)" });
    expect(infra).not.toHaveProperty("missing_dependency");
  });

  it("compose ids are stable per change set; only build members bring candidates", () => {
    expect(composeIdOf(ID)).toBe(composeIdOf(ID));
    const src = { source_message_id: "m", source_topic: "t" };
    expect(
      buildNvrs({
        members: [
          { kind: "build", package: "b", nvr: "b-1-1", ...src },
          { kind: "operator-request", action: "compose", requested_by: "alice", ...src },
          { kind: "build", package: "a", nvr: "a-1-1", ...src },
          { kind: "build", package: "a", nvr: "a-1-1", ...src },
        ],
      }),
    ).toEqual(["a-1-1", "b-1-1"]);
  });

  it("complete names scratch builds, and a build failure is a valid compose failure with a capped reason", () => {
    const rev = "1".repeat(40);
    const body = completeBody(ID, composed, "/srv/repo", NOW, [{ kind: "pull-request", package: "chrony", repo: "rpms/chrony", rev, prUrl: "https://src.example/rpms/chrony/pull-request/1", nvr: "chrony-4.6.1-2.fc41", rpms: ["chrony-4.6.1-2.fc41.x86_64"] }]);
    expect(validateBody(ComposeCompleteMessage, body).ok).toBe(true);
    expect(body).toMatchObject({ scratch_builds: [{ kind: "pull-request", pr_url: "https://src.example/rpms/chrony/pull-request/1", nvr: "chrony-4.6.1-2.fc41", rpms: ["chrony-4.6.1-2.fc41.x86_64"] }] });
    expect(completeBody(ID, composed, "/srv/repo", NOW)).not.toHaveProperty("scratch_builds");

    const failure = errorBody(ID, { type: "build-failure", reason: `build-failure: rpms/chrony: ${"x".repeat(10_000)}the end`, member: { kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev } }, NOW);
    expect(validateBody(ComposeErrorMessage, failure).ok).toBe(true);
    expect(failure).toMatchObject({ kind: "compose-failure", failure: "build-failure", build: { kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev } });
    expect(Buffer.byteLength(failure.reason)).toBeLessThanOrEqual(ERROR_REASON_MAX_BYTES + 3);
    expect(failure.reason.endsWith("the end")).toBe(true);
  });
});
