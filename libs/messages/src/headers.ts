import { Severity, type MessageSchema } from "./schema.js";

const FILTER_PROPERTIES = [
  ["user", "usernames"],
  ["group", "groups"],
  ["rpm", "packages"],
  ["container", "containers"],
  ["module", "modules"],
  ["flatpak", "flatpaks"],
] as const;

/**
 * The `fedora_messaging_<kind>_<name>: true` headers fedora-messaging's `_filter_headers`
 * derives from a message, so consumers can bind on a user or a package.
 */
export function filterHeaders<T>(schema: MessageSchema<T>, body: T): Record<string, true> {
  const headers: Record<string, true> = {};
  for (const [kind, property] of FILTER_PROPERTIES) {
    let items: readonly string[];
    try {
      items = schema[property]?.(body) ?? [];
    } catch {
      // As in fedora-messaging: a body the property cannot be read from gets no such header.
      continue;
    }
    for (const item of items) headers[`fedora_messaging_${kind}_${item}`] = true;
  }
  return headers;
}

/**
 * The headers a fedora-messaging publisher sets from the schema and body: schema, package,
 * severity and the filter headers. `sent-at` and `priority` belong to the act of sending.
 */
export function schemaHeaders<T>(
  schema: MessageSchema<T>,
  body: T,
  severity: Severity = schema.severity ?? Severity.INFO,
): Record<string, string | number | boolean> {
  return {
    fedora_messaging_schema: schema.name,
    ...(schema.schemaPackage ? { fedora_messaging_schema_package: schema.schemaPackage } : {}),
    fedora_messaging_severity: severity,
    ...filterHeaders(schema, body),
  };
}
