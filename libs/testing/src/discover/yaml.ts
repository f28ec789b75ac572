// YAML helpers shared by the STI and fmf readers: parse strictly and check shapes with errors
// that name the file and the key.
import { parse } from "yaml";
import { DiscoveryError } from "../model.js";

export type Mapping = Record<string, unknown>;

export function parseYaml(text: string, file: string): unknown {
  try {
    // Custom tags (Ansible's !vault, !unsafe) are not part of the subset: the parser errors on them.
    return parse(text, { prettyErrors: false, uniqueKeys: true });
  } catch (cause) {
    throw new DiscoveryError(file, "(document)", `not valid YAML: ${cause instanceof Error ? cause.message.split("\n")[0] ?? "" : String(cause)}`);
  }
}

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function mapping(value: unknown, file: string, key: string): Mapping {
  if (!isMapping(value)) throw new DiscoveryError(file, key, "must be a mapping");
  return value;
}

export function list(value: unknown, file: string, key: string): unknown[] {
  if (!Array.isArray(value)) throw new DiscoveryError(file, key, "must be a list");
  return value;
}

export function text(value: unknown, file: string, key: string): string {
  if (typeof value !== "string" || value === "") throw new DiscoveryError(file, key, "must be a non-empty string");
  return value;
}

/** A string or a list of strings (tmt accepts both for `require` and `tag`). */
export function strings(value: unknown, file: string, key: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  return list(value, file, key).map((item, i) => text(item, file, `${key}[${i}]`));
}

export function onlyKeys(value: Mapping, allowed: readonly string[], file: string, where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new DiscoveryError(file, where ? `${where}.${key}` : key, `not supported (supported: ${allowed.join(", ")})`);
  }
}
