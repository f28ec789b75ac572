import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { ToolEnv } from "@atomic-ci/tools";
import { describeBusybox, DEFAULT_BUSYBOX_PATHS, findStaticBusybox } from "./busybox.js";
import { DEFAULT_CACHE_DIR, inputHash, publish, withBuildLock } from "./cache.js";
import { generateWorld } from "./generate.js";
import { locateKernel } from "./kernel/stage.js";
import { loadWorld, type World } from "./manifest.js";

export interface BuildFixtureWorldOptions {
  /** Cache directory; the world goes to `<outDir>/<input hash>/`. Default `<repo>/.cache/fixture-world`. */
  outDir?: string;
  /** Also build a synthetic host of this many generated packages (for benchmarks). */
  synthetic?: number;
  /** Environment for the tools (PATH). Default: this process's. */
  env?: ToolEnv;
  /** Where the kernel and its modules are (Debian's layout by default). */
  bootDir?: string;
  modulesRoot?: string;
  /** Where to look for a static busybox. */
  busybox?: readonly string[];
  /** Parallel rpmbuilds. Default: the core count plus one (rpmbuild waits on its own shells). */
  jobs?: number;
  /** Rebuild even when the cache has this world. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface FixtureWorld extends World {
  /** Path of world.json. */
  manifest: string;
  /** True when nothing was built: the cache had it (or another process built it first). */
  cached: boolean;
}

/**
 * Build the fixture world, or return the cached one. Built in a temporary directory next to
 * the cache entry and renamed into place, so a crash leaves no half-built world behind and two
 * processes racing end up sharing one.
 */
export async function buildFixtureWorld(options: BuildFixtureWorldOptions = {}): Promise<FixtureWorld> {
  const env = options.env ?? process.env;
  const outDir = resolve(options.outDir ?? DEFAULT_CACHE_DIR);
  const synthetic = options.synthetic ?? 0;
  if (!Number.isInteger(synthetic) || synthetic < 0 || synthetic > 20_000) {
    throw new RangeError(`synthetic must be a whole number from 0 to 20000, not ${synthetic}`);
  }
  const kernel = await locateKernel(options.bootDir ?? "/boot", options.modulesRoot ?? "/lib/modules");
  const busybox = await findStaticBusybox(options.busybox ?? DEFAULT_BUSYBOX_PATHS);
  const machineFiles = [kernel.vmlinuz, join(kernel.modulesDir, "modules.dep"), busybox, ...(kernel.config ? [kernel.config] : [])];
  const hash = await inputHash({ files: machineFiles, outDir, options: { synthetic, kver: kernel.kver } });
  const root = join(outDir, hash);
  const manifest = join(root, "world.json");
  if (!options.force && existsSync(manifest)) return { ...(await loadWorld(manifest)), manifest, cached: true };

  await mkdir(outDir, { recursive: true });
  const reuse = async (): Promise<FixtureWorld> => ({ ...(await loadWorld(manifest)), manifest, cached: true });
  return withBuildLock(
    `${root}.lock`,
    () => existsSync(manifest),
    async (waited) => {
      // Someone else may have finished it while we waited for the lock (then even --force takes it).
      if (existsSync(manifest) && (!options.force || waited)) return reuse();
      const tmp = await mkdtemp(join(outDir, `.tmp-${hash}-`));
      try {
        // mkdtemp makes it 0700; the world is read by services that may run as other users.
        await chmod(tmp, 0o755);
        const world = await generateWorld({
          tmp,
          root,
          hash,
          kernel,
          busybox: await describeBusybox(busybox, env),
          synthetic,
          ctx: { env },
          jobs: options.jobs ?? availableParallelism() + 1,
          log: options.log ?? (() => undefined),
        });
        await writeFile(join(tmp, "world.json"), `${JSON.stringify(world, null, 2)}\n`);
        const ours = await publish(tmp, root, options.force ?? false);
        return { ...(ours ? world : await loadWorld(manifest)), manifest, cached: !ours };
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    },
    reuse,
  );
}
