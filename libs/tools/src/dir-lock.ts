// A lock that needs nothing but a file system: mkdir is atomic (also on NFS), the holder
// writes a token so that it only ever removes its own lock, and a lock older than `staleMs`
// was left by a crashed process and is broken. Composers and publishers serialise on it.
// The holder also refreshes the lock's mtime every `heartbeatMs` and says so in its token: a
// lock whose heartbeat stopped for three beats was left by a process that died (kill -9, OOM)
// and is broken then, not after `staleMs` (an hour or two, which stalled every compose or
// release behind a killed holder: found by the chaos suite, docs/chaos.md).
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
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
  /** How often the holder refreshes the lock's mtime (default 10 s); three missed beats break it. */
  heartbeatMs?: number;
}

/** `hb<ms>:` in the owner token: the holder beats every <ms>. Tokens without it (older holders) only go stale after staleMs. */
const HEARTBEAT_TOKEN = /^hb(\d+):/;

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
  const { timeoutMs = 30 * 60_000, staleMs = 60 * 60_000, pollMs = 50, heartbeatMs = 10_000 } = options;
  await mkdir(dirname(path), { recursive: true });
  const token = `hb${heartbeatMs}:${process.pid}-${randomBytes(8).toString("hex")}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, "owner"), token);
      const beat = setInterval(() => {
        const now = new Date();
        utimes(path, now, now).catch(() => undefined);
      }, heartbeatMs);
      beat.unref();
      return async () => {
        clearInterval(beat);
        // Only remove the lock if it is still ours (it may have been broken as stale).
        const owner = await readFile(join(path, "owner"), "utf8").catch(() => undefined);
        if (owner === token) await rm(path, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    const beat = HEARTBEAT_TOKEN.exec((await readFile(join(path, "owner"), "utf8").catch(() => "")))?.[1];
    const abandoned = beat !== undefined && age > 3 * Number(beat);
    if (age > staleMs || abandoned) await rm(path, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new LockTimeoutError(path, timeoutMs);
    else await sleep(pollMs);
  }
}
