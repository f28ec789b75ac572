// Serialising composes of one ref: the lib takes a Lock port; DirLock is the one that needs
// nothing but the repository's file system (mkdir is atomic, also on NFS), a Redis lock can
// implement the same port for composers on several machines.
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export type Release = () => Promise<void>;

export interface Lock {
  /** Wait until `key` is ours; the returned function gives it back. */
  acquire(key: string): Promise<Release>;
}

export interface DirLockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** A lock older than this is from a crashed composer and is broken. */
  staleMs?: number;
  pollMs?: number;
}

export class LockTimeoutError extends Error {
  constructor(key: string, ms: number) {
    super(`could not take the compose lock ${JSON.stringify(key)} within ${ms} ms`);
    this.name = "LockTimeoutError";
  }
}

export class DirLock implements Lock {
  constructor(
    private readonly dir: string,
    private readonly options: DirLockOptions = {},
  ) {}

  async acquire(key: string): Promise<Release> {
    const { timeoutMs = 30 * 60_000, staleMs = 60 * 60_000, pollMs = 50 } = this.options;
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${key.replace(/[^A-Za-z0-9._-]/g, "_")}.lock`);
    const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
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
      else if (Date.now() > deadline) throw new LockTimeoutError(key, timeoutMs);
      else await sleep(pollMs);
    }
  }
}
