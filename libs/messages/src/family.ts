import type { MessageSchema } from "./schema.js";

/**
 * A message family: the schemas one publisher (Koji, Bodhi, our test stages, ...) emits.
 * `id` is the file name of the family's exported JSON Schema (`docs/schemas/<id>.json`).
 */
export interface MessageFamily {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly schemas: readonly MessageSchema[];
}
