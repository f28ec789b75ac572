import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { WaiverdbWaiver, WaiverdbWaiverNewMessage } from "./waiverdb.js";

const waiver = {
  id: 3127,
  subject_type: "koji_build",
  subject_identifier: "rpm-ostree-2025.11-1.fc44",
  subject: { type: "koji_build", item: "rpm-ostree-2025.11-1.fc44" },
  testcase: "fedora-ci.koji-build.tier0.functional",
  product_version: "fedora-44",
  waived: true,
  comment: "infrastructure failure: the runner lost its network",
  username: "walters",
  proxied_by: "bodhi@service",
  scenario: null,
  timestamp: "2025-11-17T15:02:11.812346",
};

function paths(body: unknown): string[] {
  const result = validateBody(WaiverdbWaiverNewMessage, body);
  return result.ok ? [] : result.issues.map((i) => i.path);
}

describe("waiverdb.waiver.new", () => {
  it("accepts a waiver, with or without the deprecated subject", () => {
    expect(paths(waiver)).toEqual([]);
    const { subject: _subject, proxied_by: _proxy, scenario: _scenario, ...minimal } = waiver;
    expect(paths(minimal)).toEqual([]);
  });

  it("requires what a gate needs to match the waiver to a result", () => {
    const { testcase: _t, product_version: _p, ...partial } = waiver;
    expect(paths({ ...partial, waived: "yes" })).toEqual(["testcase", "product_version", "waived"]);
  });

  it("derives the user and a summary", () => {
    const body = WaiverdbWaiver.parse(waiver);
    expect(WaiverdbWaiverNewMessage.usernames?.(body)).toEqual(["walters"]);
    expect(WaiverdbWaiverNewMessage.summary?.(body)).toBe(
      "walters waived fedora-ci.koji-build.tier0.functional for koji_build rpm-ostree-2025.11-1.fc44",
    );
  });
});
