import { z } from "zod";
import { describe, expect, it } from "vitest";
import { defineSchema } from "./schema.js";
import { formatPath, validateBody } from "./validate.js";

const Build = z.looseObject({ nvr: z.string().min(1, "must not be empty"), id: z.int() });
const schema = defineSchema({
  name: "test.Nested",
  topic: "test.nested",
  description: "",
  body: z.looseObject({
    artifact: z.looseObject({ builds: z.array(Build) }),
    kind: z.union([z.looseObject({ a: z.string() }), z.looseObject({ b: z.looseObject({ c: z.int() }) })]),
  }),
});

describe("validateBody", () => {
  it("returns the parsed value, unknown keys kept", () => {
    const body = { artifact: { builds: [{ nvr: "a-1-1", id: 1, extra: true }] }, kind: { a: "x" }, more: 1 };
    const result = validateBody(schema, body);
    expect(result).toEqual({ ok: true, value: body });
  });

  it("names every bad field with a dotted path, array indices as numbers", () => {
    const result = validateBody(schema, {
      artifact: { builds: [{ nvr: "a-1-1", id: 1 }, { nvr: "", id: "7" }] },
      kind: { a: "x" },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual(["artifact.builds.1.nvr", "artifact.builds.1.id"]);
    expect(result.issues[0]?.message).toBe("must not be empty");
  });

  it("reports a missing section at its own path and a non-object body at (root)", () => {
    expect(validateBody(schema, { kind: { a: "x" } })).toMatchObject({
      ok: false,
      issues: [{ path: "artifact" }],
    });
    expect(validateBody(schema, 42)).toMatchObject({ ok: false, issues: [{ path: "(root)" }] });
  });

  it("reports a failed union through the branch that got furthest", () => {
    const result = validateBody(schema, { artifact: { builds: [] }, kind: { b: { c: "no" } } });
    expect(result).toMatchObject({ ok: false, issues: [{ path: "kind.b.c" }] });
  });
});

describe("formatPath", () => {
  it("joins keys with dots and shows the empty path as (root)", () => {
    expect(formatPath([])).toBe("(root)");
    expect(formatPath(["system", 0, "os"])).toBe("system.0.os");
  });
});
