import { describe, expect, it } from "vitest";
import { DELIVERY_POLICY, hostDefinitionFiles } from "../../../test/fixture-world/src/hostdef.js";
import { DeliveryPolicyError, parseDeliveryPolicy, streamOrder } from "./policy.js";

function issues(yaml: string): readonly string[] {
  try {
    parseDeliveryPolicy(yaml, "delivery.yaml");
  } catch (err) {
    if (err instanceof DeliveryPolicyError) return err.issues;
    throw err;
  }
  throw new Error("the policy was accepted");
}

describe("the delivery policy", () => {
  it("parses streams, schedules, freezes, rollouts, barriers and dead-ends with their defaults", () => {
    const policy = parseDeliveryPolicy(`
streams:
  testing:
    schedule: {window: hour}
    rollout: {start_percentage: 0.1, duration_minutes: 120}
  stable:
    from: testing
    soak: 3d
    schedule: {days: [tue, thu], hours: {from: 14, to: 16}, window: week}
freezes:
  - {start: "2026-12-20T00:00:00Z", end: "2027-01-04T00:00:00Z", reason: holidays, streams: [stable]}
barriers:
  - {stream: stable, version: "41.20261126.0", reason: "new signing key"}
deadends:
  - {stream: testing, version: "41.20261120.0", reason: "broken bootloader"}
`);
    expect(policy.streams.testing).toEqual({ from: "gate", schedule: { timezone: "UTC", days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"], hours: { from: 0, to: 24 }, window: "hour" }, rollout: { start_percentage: 0.1, duration_minutes: 120 } });
    expect(policy.streams.stable?.soak).toBe(3 * 86_400_000);
    expect(policy.freezes[0]?.end).toEqual(new Date("2027-01-04T00:00:00Z"));
    expect(policy.barriers).toHaveLength(1);
    expect(policy.deadends[0]?.reason).toBe("broken bootloader");
    expect(streamOrder(policy)).toEqual(["testing", "stable"]);
  });

  it("orders streams so each comes after the one it is promoted from", () => {
    const policy = parseDeliveryPolicy("streams:\n  a: {from: c}\n  b: {}\n  c: {from: b}\n");
    expect(streamOrder(policy)).toEqual(["b", "c", "a"]);
  });

  it("names every problem with its field path", () => {
    const found = issues(`
streams:
  testing:
    schedule: {days: [funday], hours: {from: 9, to: 9}, timezone: Europe/Prague}
  stable:
    from: nightly
    soak: 3 days
freezes:
  - {start: "2026-12-20T00:00:00Z", end: "2026-12-01T00:00:00Z", reason: x, streams: [beta]}
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^streams\.testing\.schedule\.timezone: /),
        expect.stringMatching(/^streams\.testing\.schedule\.days\.0: /),
        expect.stringMatching(/^streams\.testing\.schedule\.hours: from and to must differ/),
        expect.stringMatching(/^streams\.stable\.soak: must be a duration like 30m, 72h or 7d/),
        expect.stringMatching(/^freezes\.0\.end: end must be after start/),
      ]),
    );
  });

  it("refuses references to unknown streams, cycles, soak on a gate-fed stream and unknown keys", () => {
    expect(issues("streams:\n  stable: {from: nightly}\n")).toEqual(["streams.stable.from: no stream nightly"]);
    expect(issues("streams:\n  a: {from: b}\n  b: {from: a}\n")).toEqual(expect.arrayContaining([expect.stringMatching(/^streams\.a\.from: promotion cycle/)]));
    expect(issues("streams:\n  testing: {soak: 1d}\n")).toEqual(["streams.testing.soak: soak needs `from: <stream>`"]);
    expect(issues("streams:\n  testing: {}\nfreezes:\n  - {start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z', reason: x, streams: [beta]}\n")).toEqual(["freezes.0.streams: no stream beta"]);
    expect(issues("streams:\n  testing: {scheduel: {}}\n")[0]).toMatch(/^streams\.testing: Unrecognized key/);
    expect(issues("streams: {}\n")).toEqual(["streams: at least one stream is needed"]);
    expect(issues("barriers: []\n")[0]).toMatch(/^streams: /);
  });

  it("a file that is not YAML is an error that says so", () => {
    const err = (() => {
      try {
        parseDeliveryPolicy("streams: [\n", "delivery.yaml at f41");
      } catch (e) {
        return e as DeliveryPolicyError;
      }
      return undefined;
    })();
    expect(err?.code).toBe("DELIVERY_POLICY_INVALID");
    expect(err?.message).toMatch(/^delivery\.yaml at f41: invalid delivery policy: not YAML/);
  });

  it("the fixture world's delivery.yaml is valid: testing from the gates, stable after a day in testing, no freeze", () => {
    const files = hostDefinitionFiles({ dir: "", repos: [], topPackages: [], lock: [], generated: "2025-01-01T00:00:00Z", date: new Date(0) });
    const policy = parseDeliveryPolicy(files[DELIVERY_POLICY] ?? "", DELIVERY_POLICY);
    expect(streamOrder(policy)).toEqual(["testing", "stable"]);
    expect(policy.streams.stable).toMatchObject({ from: "testing", soak: 86_400_000 });
    expect(policy.freezes).toEqual([]);
  });
});
