import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Bump when world.json changes shape in a way old caches cannot satisfy. */
export const WORLD_FORMAT = 1;

/** This generator's own source directory: its code (spec templates included) is an input. */
export const GENERATOR_DIR = dirname(fileURLToPath(import.meta.url));
/** The repository root (…/test/fixture-world/src → …). */
export const REPO_ROOT = join(GENERATOR_DIR, "..", "..", "..");
export const DEFAULT_CACHE_DIR = join(REPO_ROOT, ".cache", "fixture-world");

/**
 * The cache key: a hash of everything that determines the world. Machine files are keyed by
 * size and mtime (hashing the 8 MB kernel on every call would cost more than the check is
 * worth); the generator's sources by content. The output directory is part of the key
 * because the world embeds its own path (the `.repo` baseurl, world.json).
 */
export async function inputHash(inputs: { files: readonly string[]; outDir: string; options: unknown }): Promise<string> {
  const hash = createHash("sha256");
  hash.update(`format ${WORLD_FORMAT}\nout ${inputs.outDir}\noptions ${JSON.stringify(inputs.options)}\n`);
  for (const file of [...inputs.files].sort()) {
    const s = await stat(file);
    hash.update(`machine ${file} ${s.size} ${Math.floor(s.mtimeMs)}\n`);
  }
  for (const file of await generatorSources(GENERATOR_DIR)) {
    hash.update(`source ${relative(GENERATOR_DIR, file)}\n`);
    hash.update(await readFile(file));
  }
  return hash.digest("hex").slice(0, 20);
}

async function generatorSources(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await generatorSources(path)));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) found.push(path);
  }
  return found.sort();
}

/**
 * Publish a finished build: rename the temporary directory to its final name, atomically, so
 * a reader sees either no world or a whole one. If another process won the race, keep its
 * world and drop ours. Returns false when ours was dropped.
 */
export async function publish(tmp: string, final: string, replace: boolean): Promise<boolean> {
  if (replace && existsSync(final)) {
    const old = `${final}.old-${process.pid}-${Date.now()}`;
    await rename(final, old);
    await rm(old, { recursive: true, force: true });
  }
  try {
    await rename(tmp, final);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === "ENOTEMPTY" || code === "EEXIST") && existsSync(join(final, "world.json"))) {
      await rm(tmp, { recursive: true, force: true });
      return false;
    }
    throw err;
  }
}

/**
 * Serialize builds of one cache entry across processes (test files run in parallel, a demo may
 * run beside them): the first takes `<entry>.lock`, the others wait and then find the world
 * built. A lock whose owner died is taken over.
 */
export async function withBuildLock<T>(
  lock: string,
  done: () => boolean,
  build: (waited: boolean) => Promise<T>,
  reuse: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + 15 * 60_000;
  let waited = false;
  for (;;) {
    try {
      await mkdir(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      waited = true;
      if (done()) return reuse();
      if (await isStale(lock)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    try {
      await writeFile(join(lock, "owner"), `${process.pid}\n`);
      return await build(waited);
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

async function isStale(lock: string): Promise<boolean> {
  const owner = Number((await readFile(join(lock, "owner"), "utf8").catch(() => "")).trim());
  if (!owner) {
    // Created but not yet stamped, or its owner died in between: give it a moment.
    const created = await stat(lock).then((s) => s.mtimeMs, () => 0);
    return Date.now() - created > 30_000;
  }
  try {
    process.kill(owner, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
