import { describe, expect, it } from "vitest";
import { MESSAGE_FAMILIES } from "./families/index.js";
import { KOJI_FAMILY } from "./families/koji.js";
import { familyJsonSchema, familyJsonSchemaText, GENERATED_BY } from "./json-schema.js";

function refsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsOf(item, out);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") out.push(value);
      else refsOf(value, out);
    }
  }
  return out;
}

describe("familyJsonSchema", () => {
  it("puts each member under $defs by schema name, annotated with its topic", () => {
    const doc = familyJsonSchema(KOJI_FAMILY);
    expect(doc.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(doc.title).toBe("koji");
    expect(doc["x-generated-by"]).toBe(GENERATED_BY);
    const defs = doc.$defs as Record<string, Record<string, unknown>>;
    expect(Object.keys(defs)).toEqual([
      "koji_fedoramessaging.build.BuildStateChangeV1",
      "koji_fedoramessaging.tag.TagV1",
      "KojiTaskInfo",
    ]);
    expect(defs["koji_fedoramessaging.build.BuildStateChangeV1"]).toMatchObject({
      "x-topic": "buildsys.build.state.change",
      "x-schema-package": "koji_fedoramessaging_messages",
      type: "object",
    });
    expect(defs["koji_fedoramessaging.build.BuildStateChangeV1"]?.required).toContain("task_id");
    expect(defs["koji_fedoramessaging.build.BuildStateChangeV1"]?.required).not.toContain("task");
    expect(defs["koji_fedoramessaging.tag.TagV1"]).toMatchObject({ "x-topic": "buildsys.tag", "x-severity": 10 });
    expect(refsOf(defs.KojiTaskInfo)).toEqual(["#/$defs/KojiTaskInfo"]);
  });

  it("leaves no $ref dangling in any family", () => {
    for (const family of MESSAGE_FAMILIES) {
      const doc = familyJsonSchema(family);
      const defs = doc.$defs as Record<string, unknown>;
      for (const ref of refsOf(doc)) {
        expect(ref.startsWith("#/$defs/"), `${family.id}: ${ref}`).toBe(true);
        expect(ref.slice("#/$defs/".length) in defs, `${family.id}: ${ref}`).toBe(true);
      }
      for (const schema of family.schemas) expect(defs[schema.name], schema.name).toBeDefined();
    }
  });

  it("is formatted with two spaces and a final newline, the same every time", () => {
    const text = familyJsonSchemaText(KOJI_FAMILY);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.split("\n")[1]).toBe('  "$schema": "https://json-schema.org/draft/2020-12/schema",');
    expect(familyJsonSchemaText(KOJI_FAMILY)).toBe(text);
  });

  it("says plain `integer` for ints, without the safe-integer bounds", () => {
    const defs = familyJsonSchema(KOJI_FAMILY).$defs as Record<string, { properties: Record<string, unknown> }>;
    expect(defs["koji_fedoramessaging.tag.TagV1"]?.properties.build_id).toEqual({ type: "integer" });
    expect(defs["koji_fedoramessaging.build.BuildStateChangeV1"]?.properties.new).toEqual({
      type: "integer",
      enum: [0, 1, 2, 3, 4],
    });
  });
});
