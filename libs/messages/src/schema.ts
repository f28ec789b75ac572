import type { z } from "zod";

/**
 * A message family member: one fedora-messaging schema (a topic, a body schema, and the
 * properties fedora-messaging derives headers from).
 *
 * `name` is what goes in the `fedora_messaging_schema` header. For schemas that exist in
 * Fedora's Python packages we use their entry-point name (for example
 * `koji_fedoramessaging.build.BuildStateChangeV1`) so that Python consumers pick the right
 * class; our own schemas are named `atomic_ci.<family>.<Name>V<n>`.
 */
export interface MessageSchema<T = unknown> {
  /** Value of the `fedora_messaging_schema` header. */
  readonly name: string;
  /** Value of the `fedora_messaging_schema_package` header, when the schema has a Python package. */
  readonly schemaPackage?: string;
  /**
   * Topic without environment prefix, e.g. `buildsys.build.state.change`. May contain AMQP
   * wildcards (`*` one word) for families whose topic carries a variable part, e.g.
   * `ci.*.test.complete`.
   */
  readonly topic: string;
  /** zod schema of the body. */
  readonly body: z.ZodType<T>;
  /** Short human description used by docs and the CLI. */
  readonly description: string;
  /**
   * Message priority the Python class would set from the body (e.g. koji TagV1 lowers mass
   * rebuilds); the publisher decides when absent.
   */
  priority?(body: T): number;
  /** Severity fedora-messaging would use for this message when the publisher sets none. */
  readonly severity?: Severity;
  /** Accounts the message concerns (become `fedora_messaging_user_<name>` headers). */
  usernames?(body: T): readonly string[];
  /** RPM package names (become `fedora_messaging_rpm_<name>` headers). */
  packages?(body: T): readonly string[];
  /** Container names (`fedora_messaging_container_<name>`). */
  containers?(body: T): readonly string[];
  /** Module names (`fedora_messaging_module_<name>`). */
  modules?(body: T): readonly string[];
  /** Flatpak names (`fedora_messaging_flatpak_<name>`). */
  flatpaks?(body: T): readonly string[];
  /** Group names (`fedora_messaging_group_<name>`). */
  groups?(body: T): readonly string[];
  /** The agent (user) that caused the message, if any. */
  agentName?(body: T): string | undefined;
  /** One-line summary for logs and `messages tail`. */
  summary?(body: T): string;
}

/** fedora-messaging severities (Python logging levels). */
export const Severity = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

/** Identity helper that keeps the body type inferred from the zod schema. */
export function defineSchema<S extends z.ZodType>(
  schema: MessageSchema<z.output<S>> & { body: S },
): MessageSchema<z.output<S>> {
  return schema;
}
