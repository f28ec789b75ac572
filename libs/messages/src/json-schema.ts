import { z } from "zod";
import type { MessageFamily } from "./family.js";
import type { MessageSchema } from "./schema.js";

export const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";
/** Marks the files `scripts/export-schemas.ts` owns, so it can tell stale ones from others'. */
export const GENERATED_BY = "scripts/export-schemas.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * One JSON Schema document per family: each member schema is a `$defs` entry named by its
 * fedora-messaging schema name, annotated with `x-topic` (and `x-schema-package`,
 * `x-severity` when set), in family order. Then come the sub-schemas members share by id
 * (e.g. `KojiTaskInfo`), sorted; anonymous recursive parts would be named `<member>.<n>`.
 */
export function familyJsonSchema(family: MessageFamily): JsonObject {
  const members: JsonObject = {};
  const shared: JsonObject = {};
  for (const schema of family.schemas) {
    const generated = memberJsonSchema(schema);
    members[schema.name] = generated.member;
    for (const [key, def] of Object.entries(generated.shared)) {
      if (key in shared && JSON.stringify(shared[key]) !== JSON.stringify(def)) {
        throw new Error(`${family.id}: two different sub-schemas are both named ${key}`);
      }
      shared[key] = def;
    }
  }
  const defs: JsonObject = { ...members };
  for (const key of Object.keys(shared).sort()) {
    if (key in members) throw new Error(`${family.id}: sub-schema ${key} has a member schema's name`);
    defs[key] = shared[key] ?? null;
  }
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: family.id,
    description: `${family.title}. ${family.description}`,
    "x-generated-by": GENERATED_BY,
    $defs: defs,
  };
}

function memberJsonSchema(schema: MessageSchema): { member: JsonObject; shared: JsonObject } {
  const generated = z.toJSONSchema(schema.body, {
    target: "draft-2020-12",
    unrepresentable: "any",
    cycles: "ref",
    reused: "inline",
    override: ({ jsonSchema }) => tidyNumbers(jsonSchema as Record<string, unknown>),
  }) as JsonObject;
  const body: JsonObject = { ...generated };
  const ownDefs = body.$defs;
  delete body.$schema;
  delete body.$defs;
  const rename = (key: string): string => (key.startsWith("__schema") ? `${schema.name}.${key.slice(8)}` : key);
  const retarget = (ref: string): string => {
    if (ref === "#") return `#/$defs/${pointerEscape(schema.name)}`;
    const match = /^#\/\$defs\/(.+)$/.exec(ref);
    return match?.[1] ? `#/$defs/${pointerEscape(rename(pointerUnescape(match[1])))}` : ref;
  };
  const shared: JsonObject = {};
  for (const [key, def] of Object.entries((ownDefs ?? {}) as JsonObject)) shared[rename(key)] = rewriteRefs(def, retarget);
  const annotations: JsonObject = { title: schema.name, description: schema.description, "x-topic": schema.topic };
  if (schema.schemaPackage) annotations["x-schema-package"] = schema.schemaPackage;
  if (schema.severity !== undefined) annotations["x-severity"] = schema.severity;
  return { member: { ...annotations, ...(rewriteRefs(body, retarget) as JsonObject) }, shared };
}

/** `z.int()` bounds itself to safe integers and integer literals come out as `number`: say just "integer". */
function tidyNumbers(node: Record<string, unknown>): void {
  if (node.type === "number" && Array.isArray(node.enum) && node.enum.every((v) => Number.isInteger(v))) {
    node.type = "integer";
  }
  if (node.type !== "integer") return;
  if (node.minimum === Number.MIN_SAFE_INTEGER) delete node.minimum;
  if (node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
}

function rewriteRefs(node: Json, retarget: (ref: string) => string): Json {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, retarget));
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === "$ref" && typeof value === "string" ? retarget(value) : rewriteRefs(value, retarget);
  }
  return out;
}

function pointerEscape(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function pointerUnescape(key: string): string {
  return key.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** The exact text written to `docs/schemas/<family>.json`: 2-space JSON and a final newline. */
export function familyJsonSchemaText(family: MessageFamily): string {
  return `${JSON.stringify(familyJsonSchema(family), null, 2)}\n`;
}
