import type { z } from "zod";
import { elementOf, kindOf, objectShape, schemaAt } from "./walk.js";

export const ENV_PREFIX = "ATOMIC_CI_";
export const CONFIG_PATH_ENV = "ATOMIC_CI_CONFIG";
/**
 * `ATOMIC_CI_` variables that are not config keys, so not "unknown keys": the config file
 * path, the test suite's variables, and the tooling's (bootstrap's Python, the fixtures dir).
 * The CLI's own `ATOMIC_CI_DEFINITION` (pin/unpin) and `ATOMIC_CI_GATEKEEPER_URL` (waive) are not service keys either.
 */
export const NON_CONFIG_ENV: readonly RegExp[] = [/^ATOMIC_CI_CONFIG$/, /^ATOMIC_CI_TEST_/, /^ATOMIC_CI_SHARED_DIR$/, /^ATOMIC_CI_PYTHON$/, /^ATOMIC_CI_DEFINITION$/, /^ATOMIC_CI_GATEKEEPER_URL$/];

/**
 * Well-known variables other tools already use. They fill the same keys as their
 * `ATOMIC_CI_` form, which wins when both are set.
 */
export const ENV_ALIASES: Readonly<Record<string, readonly string[]>> = {
  AMQP_URL: ["bus", "amqp", "url"],
  NATS_URL: ["bus", "nats", "url"],
  REDIS_URL: ["redis", "url"],
};

/** `max_body_bytes` → `maxBodyBytes`. */
export function snakeToCamel(word: string): string {
  return word.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** `maxBodyBytes` → `MAX_BODY_BYTES`. */
export function camelToSnake(word: string): string {
  return word.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/** The `ATOMIC_CI_` variable that sets a key path: `bus.amqp.url` → `ATOMIC_CI_BUS__AMQP__URL`. */
export function envNameOf(path: readonly string[]): string {
  return ENV_PREFIX + path.map(camelToSnake).join("__");
}

/** `ATOMIC_CI_BUS__AMQP__URL` → `["bus", "amqp", "url"]`. */
export function pathOfEnvName(name: string): string[] {
  return name.slice(ENV_PREFIX.length).split("__").map(snakeToCamel);
}

export interface EnvEntry {
  /** The variable name, for error messages. */
  name: string;
  path: string[];
  value: unknown;
}

export interface EnvProblem {
  name: string;
  path: string[];
  message: string;
}

/**
 * Turn one env string into what the key's schema expects. The schema decides: numbers and
 * booleans are parsed, arrays are comma lists. A string that does not parse is passed on
 * unchanged so that validation reports it with the raw value.
 */
export function coerceEnvValue(schema: z.ZodType, raw: string): unknown {
  switch (kindOf(schema)) {
    case "number": {
      const text = raw.trim();
      return text !== "" && Number.isFinite(Number(text)) ? Number(text) : raw;
    }
    case "boolean": {
      const text = raw.trim().toLowerCase();
      return text === "true" ? true : text === "false" ? false : raw;
    }
    case "array": {
      const element = elementOf(schema);
      const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      return element ? items.map((item) => coerceEnvValue(element, item)) : items;
    }
    default:
      return raw;
  }
}

/**
 * Read `ATOMIC_CI_*` variables (and, separately, the aliases) against the schema. Empty
 * values count as unset, so a deployment template can leave a variable blank.
 */
export function readEnv(schema: z.ZodType, env: NodeJS.ProcessEnv): { aliases: EnvEntry[]; entries: EnvEntry[]; problems: EnvProblem[] } {
  const aliases: EnvEntry[] = [];
  const entries: EnvEntry[] = [];
  const problems: EnvProblem[] = [];
  for (const [name, path] of Object.entries(ENV_ALIASES)) {
    const raw = env[name];
    const field = schemaAt(schema, path);
    if (raw === undefined || raw === "" || !field) continue;
    aliases.push({ name, path: [...path], value: coerceEnvValue(field, raw) });
  }
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith(ENV_PREFIX) || NON_CONFIG_ENV.some((re) => re.test(name)) || raw === undefined || raw === "") continue;
    const path = pathOfEnvName(name);
    const field = path.every((p) => p !== "") ? schemaAt(schema, path) : undefined;
    if (!field) {
      problems.push({ name, path, message: "unknown key" });
    } else if (objectShape(field)) {
      problems.push({ name, path, message: `is a section, set its keys instead (${name}__<KEY>)` });
    } else {
      entries.push({ name, path, value: coerceEnvValue(field, raw) });
    }
  }
  return { aliases, entries, problems };
}
