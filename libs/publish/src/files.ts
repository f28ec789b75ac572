// File helpers: atomic writes (temp file in the same directory + rename, so a reader sees the
// old or the new file, never half of one) and the publish lock.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { lockDirectory, type DirLockOptions as LockOptions, type Unlock } from "@atomic-ci/tools";
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

export { LockTimeoutError as PublishLockTimeoutError, type DirLockOptions as LockOptions, type Unlock } from "@atomic-ci/tools";

/** Take the publish lock directory `path`; a lock older than 2 h was left by a crashed publisher. */
export function lockDir(path: string, options: LockOptions = {}): Promise<Unlock> {
  return lockDirectory(path, { staleMs: 2 * 60 * 60_000, ...options });
}
