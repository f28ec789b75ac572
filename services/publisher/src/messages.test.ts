import { describe, expect, it } from "vitest";
import {
  isReleaseOperatorRequest,
  OperatorRequest,
  OperatorRequestMessage,
  ReleaseDeliveredMessage,
  ReleaseHeldMessage,
  ReleaseHoldSetMessage,
  ReleaseRolledBackMessage,
} from "@atomic-ci/messages";
import { deliveredBody, heldBody, holdChangeBody, rolledBackBody } from "./messages.js";
import type { Candidate } from "./store.js";

const now = new Date("2026-11-26T12:00:00Z");
const candidate: Candidate = {
  commit: "d".repeat(64),
  firstSeen: now.toISOString(),
  compose: { composeId: "atomic-ci-7", changeSetId: "cs-0123456789abcdef", ref: "fedora/41/x86_64/atomic-host", osVersion: "41.20261126.0", repo: "/srv/repo", timestamp: now.toISOString() },
  gates: {},
  streams: {},
};

describe("release message bodies", () => {
  it("held: every reason, with when it ends", () => {
    const body = heldBody("stable", candidate, "41.20261126.0", [{ kind: "freeze", detail: "holidays", until: new Date("2027-01-04T00:00:00Z") }, { kind: "manual-hold", detail: "by alice" }], now);
    expect(ReleaseHeldMessage.body.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({ stream: "stable", os_version: "41.20261126.0", compose_id: "atomic-ci-7", change_set_id: "cs-0123456789abcdef", reasons: [{ kind: "freeze", until: "2027-01-04T00:00:00.000Z" }, { kind: "manual-hold" }] });
    expect(ReleaseHeldMessage.summary?.(body)).toBe("stable 41.20261126.0 held: freeze (holidays); manual-hold (by alice)");
    expect(ReleaseHeldMessage.body.safeParse({ ...body, reasons: [] }).success).toBe(false);
  });

  it("delivered: where users find it", () => {
    const body = deliveredBody(
      "stable",
      candidate,
      "41.20261126.0",
      { ref: "fedora/41/x86_64/atomic-host", repo: "https://example.org/repo/stable/", streamMetadata: "s", releaseMetadata: "r", images: ["i"], alreadyPromoted: false, fromStream: "testing" },
      now,
    );
    expect(ReleaseDeliveredMessage.body.safeParse(body).success).toBe(true);
    expect(ReleaseDeliveredMessage.summary?.(body)).toBe(`stable 41.20261126.0 delivered (dddddddddddd) from testing`);
  });

  it("rolled back and hold changes carry the operator", () => {
    const rolled = rolledBackBody("stable", { version: "41.1", commit: "e".repeat(64), ref: "r", withdrawn: ["41.2"], alreadyThere: false }, "alice", "broken", now);
    expect(ReleaseRolledBackMessage.body.safeParse(rolled).success).toBe(true);
    expect(ReleaseRolledBackMessage.usernames?.(rolled)).toEqual(["alice"]);
    expect(ReleaseHoldSetMessage.body.safeParse(holdChangeBody("stable", "bob", "freeze", now)).success).toBe(true);
    expect(ReleaseHoldSetMessage.body.safeParse(holdChangeBody("Stable!", "bob", "freeze", now)).success).toBe(false);
  });
});

describe("operator requests for the publisher", () => {
  const common = { version: "1.0.0", generated_at: now.toISOString(), requested_by: "alice", reason: "r" };
  it("hold, unhold and rollback name a stream; rollback may name a release", () => {
    for (const body of [{ action: "hold", stream: "stable" }, { action: "unhold", stream: "stable" }, { action: "rollback", stream: "stable" }, { action: "rollback", stream: "stable", to: "41.1" }]) {
      const parsed = OperatorRequest.parse({ ...body, ...common });
      expect(isReleaseOperatorRequest(parsed)).toBe(true);
    }
    expect(OperatorRequest.safeParse({ action: "hold", ...common }).success).toBe(false);
    expect(isReleaseOperatorRequest(OperatorRequest.parse({ action: "compose", ...common }))).toBe(false);
    expect(OperatorRequestMessage.summary?.(OperatorRequest.parse({ action: "rollback", stream: "stable", to: "41.1", ...common }))).toBe("alice asked to roll stable back to 41.1: r");
  });
});
