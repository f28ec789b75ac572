// A lock that needs nothing but a file system: mkdir is atomic (also on NFS), the holder
// writes a token so that it only ever removes its own lock, and a lock older than `staleMs`
// was left by a crashed process and is broken. Composers and publishers serialise on it.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export type Unlock = () => Promise<void>;

export interface DirLockOptions {
  /** Give up waiting after this long (default 30 min). */
  timeoutMs?: number;
  /** A lock older than this is broken (default 1 h). */
  staleMs?: number;
  /** How often to look again while waiting (default 50 ms). */
  pollMs?: number;
}

export class LockTimeoutError extends Error {
  readonly code = "LOCK_TIMEOUT";
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`could not take the lock ${path} within ${timeoutMs} ms`);
    this.name = "LockTimeoutError";
  }
}

/** Take the lock directory `path`, waiting while someone else holds it. */
export async function lockDirectory(path: string, options: DirLockOptions = {}): Promise<Unlock> {
  const { timeoutMs = 30 * 60_000, staleMs = 60 * 60_000, pollMs = 50 } = options;
  await mkdir(dirname(path), { recursive: true });
  const token = `${process.pid}-${randomBytes(8).toString("hex")}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, "owner"), token);
      return async () => {
        // Only remove the lock if it is still ours (it may have been broken as stale).
        const owner = await readFile(join(path, "owner"), "utf8").catch(() => undefined);
        if (owner === token) await rm(path, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > staleMs) await rm(path, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new LockTimeoutError(path, timeoutMs);
    else await sleep(pollMs);
  }
}
