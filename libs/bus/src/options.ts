import type { z } from "zod";
import { BusError } from "./errors.js";

/**
 * Validate transport options with their zod schema. zod issues can echo input values
 * (passwords, tokens), so only paths and messages go into the BusError CONFIG.
 */
export function parseTransportOptions<S extends z.ZodType>(schema: S, options: unknown, transport: string): z.output<S> {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "(options)"}: ${i.message}`).join("; ");
    throw new BusError("CONFIG", `invalid ${transport} options: ${detail}`);
  }
  return parsed.data;
}
