/**
 * Helpers for this package's tests (not exported from the package): a one-schema registry
 * and small waiting/HTTP utilities. Everything they touch is real.
 */
import { defineSchema, SchemaRegistry } from "@atomic-ci/messages";
import { z } from "zod";

export const PING_TOPIC = "test.ping";

export const PING = defineSchema({
  name: "atomic_ci.test.PingV1",
  topic: PING_TOPIC,
  body: z.object({ n: z.number() }),
  description: "A test message",
});

export const PONG_TOPIC = "test.pong";

export const PONG = defineSchema({
  name: "atomic_ci.test.PongV1",
  topic: PONG_TOPIC,
  body: z.object({ n: z.number() }),
  description: "The answer to a ping",
});

export function pingRegistry(): SchemaRegistry {
  return new SchemaRegistry([PING, PONG]);
}

/** Poll until `check` returns true (or throw after `timeoutMs`). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface HttpResult {
  status: number;
  contentType: string | null;
  text: string;
  json(): unknown;
}

export async function get(port: number, path: string, method = "GET"): Promise<HttpResult> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type"), text, json: () => JSON.parse(text) as unknown };
}

/** A promise with its resolve function, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
