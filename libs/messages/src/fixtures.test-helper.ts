// Test-only: where the shared Fedora message fixtures live, and their loaded contents.
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { loadFedoraFixtures, type FedoraFixture } from "./fixture-shapes.js";

/** `<repo root>/../shared/fixtures/fedora-messages/`, or below `$ATOMIC_CI_SHARED_DIR` when set. */
export function fedoraFixturesDir(): string {
  const shared = process.env.ATOMIC_CI_SHARED_DIR;
  if (shared) return join(shared, "fixtures", "fedora-messages");
  return fileURLToPath(new URL("../../../../shared/fixtures/fedora-messages/", import.meta.url));
}

export function loadAllFixtures(): FedoraFixture[] {
  return loadFedoraFixtures(fedoraFixturesDir());
}

export function fixture(file: string): FedoraFixture {
  const found = loadAllFixtures().find((f) => f.file === file);
  if (!found) throw new Error(`no fixture ${file} in ${fedoraFixturesDir()}`);
  return found;
}

/** A deep copy to mutate in a test. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
