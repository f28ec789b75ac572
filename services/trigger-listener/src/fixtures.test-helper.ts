// Test-only: the shared real Fedora messages, with the routing keys and schema names the bus would give them.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultRegistry, loadFedoraFixtures } from "@atomic-ci/messages";
import type { TriggerInput } from "./core/types.js";

export const fixturesDir = process.env["ATOMIC_CI_SHARED_DIR"]
  ? join(process.env["ATOMIC_CI_SHARED_DIR"], "fixtures", "fedora-messages")
  : fileURLToPath(new URL("../../../../shared/fixtures/fedora-messages/", import.meta.url));

/** Real Fedora messages; bare bodies carry no prefix, so they get production's. */
export const upstream = loadFedoraFixtures(fixturesDir)
  .filter((f) => f.variant !== "template")
  .map((f) => ({ ...f, routingKey: f.topic.startsWith("org.") ? f.topic : `org.fedoraproject.prod.${f.topic}` }));

/** A fixture (a deep copy, to edit) as the core's input. */
export function fixtureInput(file: string, edit: (body: Record<string, unknown>) => void = () => undefined, id = `msg-${file}`): TriggerInput {
  const found = upstream.find((f) => f.file === file);
  if (!found) throw new Error(`no fixture ${file} in ${fixturesDir}`);
  const body = structuredClone<Record<string, unknown>>(found.body);
  edit(body);
  return { id, topic: found.routingKey, schema: defaultRegistry.resolve({ topic: found.routingKey }).name, body };
}
