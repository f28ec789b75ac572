import type { z } from "zod";

/**
 * Just enough introspection of a zod schema for the config loader: find the schema of a
 * key path (to map env vars and coerce their strings) and list every leaf (for docs).
 * zod keeps its definition in `_zod.def`; only the few fields read here are typed.
 */
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  entries?: Record<string, string | number>;
  values?: unknown[];
  defaultValue?: unknown;
}

function def(schema: z.ZodType): Def {
  const d: unknown = schema._zod.def;
  return d as Def;
}

/** Wrappers whose inner schema decides what a value must look like. */
const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "catch", "readonly", "nonoptional"]);

/** Strip optional/default/… wrappers and the input side of pipes (transforms). */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const d = def(current);
    if (WRAPPERS.has(d.type) && d.innerType) current = d.innerType;
    else if (d.type === "pipe" && d.in) current = d.in;
    else return current;
  }
}

/** The fields of an object schema (through wrappers), or undefined when it is no object. */
export function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const d = def(unwrap(schema));
  return d.type === "object" ? d.shape : undefined;
}

/** The schema at a key path, or undefined when no such key exists. */
export function schemaAt(schema: z.ZodType, path: readonly string[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const key of path) {
    const shape: Record<string, z.ZodType> | undefined = current ? objectShape(current) : undefined;
    if (!shape || !Object.hasOwn(shape, key)) return undefined;
    current = shape[key];
  }
  return current;
}

export type LeafKind = "object" | "array" | "number" | "boolean" | "string" | "enum" | "other";

export function kindOf(schema: z.ZodType): LeafKind {
  const d = def(unwrap(schema));
  switch (d.type) {
    case "object":
    case "array":
    case "number":
    case "boolean":
    case "string":
    case "enum":
      return d.type;
    case "int":
      return "number";
    default:
      return "other";
  }
}

export function elementOf(schema: z.ZodType): z.ZodType | undefined {
  const d = def(unwrap(schema));
  return d.type === "array" ? d.element : undefined;
}

export function enumValues(schema: z.ZodType): string[] {
  const d = def(unwrap(schema));
  return d.entries ? Object.values(d.entries).map(String) : [];
}

/** Description (`.describe()`) from the outermost layer that has one. */
export function descriptionOf(schema: z.ZodType): string | undefined {
  let current: z.ZodType | undefined = schema;
  while (current) {
    if (current.description) return current.description;
    const d = def(current);
    current = WRAPPERS.has(d.type) ? d.innerType : d.type === "pipe" ? d.in : undefined;
  }
  return undefined;
}

/** Default value of the outermost `.default()`/`.prefault()` layer, if any. */
export function defaultOf(schema: z.ZodType): { value: unknown } | undefined {
  let current: z.ZodType | undefined = schema;
  while (current) {
    const d = def(current);
    if (d.type === "default" || d.type === "prefault") return { value: d.defaultValue };
    current = WRAPPERS.has(d.type) ? d.innerType : undefined;
  }
  return undefined;
}

export function isOptional(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}

export interface Leaf {
  path: string[];
  schema: z.ZodType;
}

/** Every non-object key of an object schema, depth first, in declaration order. */
export function leaves(schema: z.ZodType, prefix: string[] = []): Leaf[] {
  const shape = objectShape(schema);
  if (!shape) return [{ path: prefix, schema }];
  return Object.entries(shape).flatMap(([key, field]) => leaves(field, [...prefix, key]));
}
