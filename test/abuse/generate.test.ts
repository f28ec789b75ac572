// The generator is deterministic per seed (a failing run replays), covers every topic the six
// services bind and every kind of mutation, and puts the marker in what it injects.
import { describe, expect, it } from "vitest";
import { allSeeds, generateAbuse, MARKER } from "./generate.js";

describe("the abuse generator", () => {
  const a = generateAbuse({ seed: 42, count: 1100 });

  it("stays bounded when a huge array follows a huge string (seed 16 used to run out of memory)", () => {
    const cases = generateAbuse({ seed: 16, count: 1100 });
    expect(cases).toHaveLength(1100);
    const bytes = cases.reduce((n, c) => n + c.body.length, 0);
    expect(bytes).toBeLessThan(300 * 1024 * 1024);
    for (const c of cases) expect(c.body.length, c.mutations.join(" ")).toBeLessThan(64 * 1024 * 1024);
  });

  it("gives the same cases for the same seed, other cases for another", () => {
    const b = generateAbuse({ seed: 42, count: 1100 });
    expect(b.map((c) => [c.routingKey, c.mutations, c.body.toString("base64")])).toEqual(a.map((c) => [c.routingKey, c.mutations, c.body.toString("base64")]));
    const other = generateAbuse({ seed: 43, count: 50 });
    expect(other.map((c) => c.mutations.join())).not.toEqual(a.slice(0, 50).map((c) => c.mutations.join()));
    expect(new Set(a.map((c) => c.id)).size).toBe(a.length);
  });

  it("covers every seed topic and every kind of mutation", () => {
    expect(new Set(a.map((c) => c.routingKey))).toEqual(new Set(allSeeds().map((s) => `${s.prefix}.${s.topic}`)));
    const kinds = new Set(a.flatMap((c) => c.mutations.map((m) => m.split(":")[0])));
    for (const kind of ["wrong-type", "missing-field", "extra-field", "huge-string", "odd-unicode", "overlong-utf8", "shell-injection", "path-injection", "nvr-injection", "ref-injection", "commit-injection", "outside-root", "huge-array", "deep-nesting", "not-json", "content-type", "content-encoding", "wrong-schema-header", "forged-user-id"]) {
      expect(kinds, kind).toContain(kind);
    }
    expect(a.some((c) => c.body.length > 1024 * 1024)).toBe(true);
    expect(a.some((c) => c.body.includes(MARKER))).toBe(true);
    // Forged user_id only on the gatekeeper's decisions.
    expect(a.filter((c) => c.properties.userId !== undefined).every((c) => c.topic === "greenwave.decision.update")).toBe(true);
  });
});
