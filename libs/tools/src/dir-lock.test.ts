import { mkdir, mkdtemp, stat, utimes, writeFile } from "node:fs/promises";
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

  it("breaks a killed holder's lock once its heartbeat stopped, long before staleMs", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "atomic-ci-dirlock-")), "x.lock");
    // What a holder that beat every 100 ms leaves when it is killed: its token, a mtime that no longer moves.
    await mkdir(path);
    await writeFile(join(path, "owner"), "hb100:999999-0123456789abcdef");
    const old = new Date(Date.now() - 1_000);
    await utimes(path, old, old);
    const unlock = await lockDirectory(path, { staleMs: 3_600_000, timeoutMs: 1_000, pollMs: 5 });
    await unlock();
  });

  it("keeps a live holder's lock fresh with its heartbeat", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "atomic-ci-dirlock-")), "x.lock");
    const unlock = await lockDirectory(path, { heartbeatMs: 20 });
    await expect(lockDirectory(path, { staleMs: 3_600_000, timeoutMs: 300, pollMs: 5 })).rejects.toBeInstanceOf(LockTimeoutError);
    await unlock();
  });
});
