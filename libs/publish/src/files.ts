// File helpers: atomic writes (temp file in the same directory + rename, so a reader sees the
// old or the new file, never half of one) and a directory lock (mkdir is atomic).
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";

export async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The parsed file, or undefined when it does not exist. A malformed file is an error. */
export async function readJson<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.message}`);
  return parsed.data;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

export type Unlock = () => Promise<void>;

export interface LockOptions {
  timeoutMs?: number;
  /** A lock older than this was left by a crashed publisher and is broken. */
  staleMs?: number;
  pollMs?: number;
}

export class PublishLockTimeoutError extends Error {
  constructor(path: string, ms: number) {
    super(`could not take the publish lock ${path} within ${ms} ms`);
    this.name = "PublishLockTimeoutError";
  }
}

/** Take the lock directory `path` (wait while another publisher holds it). */
export async function lockDir(path: string, options: LockOptions = {}): Promise<Unlock> {
  const { timeoutMs = 30 * 60_000, staleMs = 2 * 60 * 60_000, pollMs = 50 } = options;
  await mkdir(dirname(path), { recursive: true });
  const token = `${process.pid}-${randomBytes(8).toString("hex")}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, "owner"), token);
      return async () => {
        const owner = await readFile(join(path, "owner"), "utf8").catch(() => undefined);
        if (owner === token) await rm(path, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > staleMs) await rm(path, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new PublishLockTimeoutError(path, timeoutMs);
    else await sleep(pollMs);
  }
}
