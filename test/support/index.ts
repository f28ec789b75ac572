import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { TestServices } from "./services.js";

/** Services the global setup found or started. */
export function testServices(): TestServices {
  return inject("services");
}

/** A name no other test (or earlier run) uses, for queues, streams and keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}
