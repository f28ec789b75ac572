import { mkdtemp, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockDirectory, LockTimeoutError } from "./dir-lock.js";

describe("lockDirectory", () => {
  it("lets one holder in at a time and removes only its own lock", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "atomic-ci-dirlock-")), "x.lock");
    const unlock = await lockDirectory(path);
    const waiting = lockDirectory(path, { timeoutMs: 40, pollMs: 5 });
    await expect(waiting).rejects.toBeInstanceOf(LockTimeoutError);
    await unlock();
    await expect(stat(path)).rejects.toThrow();
    const again = await lockDirectory(path, { timeoutMs: 40, pollMs: 5 });
    await again();
  });

  it("breaks a lock left behind by a crashed holder once it is stale", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "atomic-ci-dirlock-")), "x.lock");
    const crashed = await lockDirectory(path);
    const old = new Date(Date.now() - 10_000);
    await utimes(path, old, old);
    const unlock = await lockDirectory(path, { staleMs: 5_000, timeoutMs: 1_000, pollMs: 5 });
    // The crashed holder's release must not remove the new holder's lock.
    await crashed();
    expect((await stat(path)).isDirectory()).toBe(true);
    await unlock();
  });
});
