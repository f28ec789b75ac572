// A process limit per sandbox, so that a fork bomb stays inside its test. RLIMIT_NPROC alone
// cannot do it for us: it counts every process of the real uid on the machine, and the
// kernel ignores it for root (we run bwrap as root). A pids cgroup counts only its members.
//
// Order tried (docs/tests.md, "Limits"): a cgroup v1 `pids` hierarchy
// (`/sys/fs/cgroup/pids`), then a cgroup v2 hierarchy whose `cgroup.controllers` offers
// `pids` (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified`), each used only when we can create a
// child there; else `prlimit --nproc` around bwrap (effective only when the runner is not
// root); else nothing. The sandbox is put into its cgroup before its command starts: bwrap
// waits on `--block-fd` until bwrap and its first child have been moved there; every later
// process is forked inside.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const DEFAULT_PIDS_MAX = 256;
/** Where the per-test cgroups go, below the hierarchy's root. */
export const CGROUP_PARENT = "atomic-ci";

export interface ProcessLimitOptions {
  /** Processes (threads count too) one sandbox may have at once; default 256. */
  pidsMax?: number;
  /** Which mechanism: `auto` (the order above, default), one of them, or `none`. */
  mode?: "auto" | "cgroup-v1" | "cgroup-v2" | "rlimit" | "none";
  /** The cgroup file system's mount point (default `/sys/fs/cgroup`); for tests. */
  cgroupFs?: string;
}

export type PidsLimiter =
  | { kind: "cgroup-v1" | "cgroup-v2"; /** the `atomic-ci` directory holding one cgroup per sandbox */ parent: string; pidsMax: number }
  | { kind: "rlimit"; pidsMax: number }
  | { kind: "none"; pidsMax: number; why: string };

export class LimitError extends Error {
  readonly code = "PROCESS_LIMIT";
}

const detected = new Map<string, Promise<PidsLimiter>>();

/** The mechanism to use, detected once per option set (creating `<hierarchy>/atomic-ci`). */
export function pidsLimiter(options: ProcessLimitOptions = {}): Promise<PidsLimiter> {
  const key = JSON.stringify([options.pidsMax, options.mode, options.cgroupFs]);
  let found = detected.get(key);
  if (!found) {
    found = detect(options);
    detected.set(key, found);
  }
  return found;
}

async function detect(options: ProcessLimitOptions): Promise<PidsLimiter> {
  const pidsMax = options.pidsMax ?? DEFAULT_PIDS_MAX;
  if (!Number.isInteger(pidsMax) || pidsMax < 1) throw new LimitError(`pidsMax must be a positive integer, not ${pidsMax}`);
  const mode = options.mode ?? "auto";
  const fs = options.cgroupFs ?? "/sys/fs/cgroup";
  const tried: string[] = [];
  if (mode === "auto" || mode === "cgroup-v1") {
    const v1 = join(fs, "pids");
    // A v1 hierarchy has no cgroup.controllers; a pids one has pids.max in its children only, so look at the mount's procs.
    if (existsSync(join(v1, "cgroup.procs")) && !existsSync(join(v1, "cgroup.controllers"))) {
      const parent = await usable(join(v1, CGROUP_PARENT), tried, false);
      if (parent) return { kind: "cgroup-v1", parent, pidsMax };
    } else tried.push(`${v1}: no cgroup v1 pids hierarchy`);
  }
  if (mode === "auto" || mode === "cgroup-v2") {
    for (const root of [fs, join(fs, "unified")]) {
      const controllers = await readFile(join(root, "cgroup.controllers"), "utf8").catch(() => undefined);
      if (controllers === undefined) continue;
      if (!controllers.split(/\s+/).includes("pids")) {
        tried.push(`${root}: cgroup v2 without the pids controller`);
        continue;
      }
      const parent = await usable(join(root, CGROUP_PARENT), tried, true);
      if (parent) return { kind: "cgroup-v2", parent, pidsMax };
    }
  }
  if (mode === "auto" || mode === "rlimit") {
    if (existsSync("/usr/bin/prlimit") || existsSync("/bin/prlimit")) return { kind: "rlimit", pidsMax };
    tried.push("prlimit not found");
  }
  return { kind: "none", pidsMax, why: mode === "none" ? "turned off" : tried.join("; ") };
}

/** Make the parent cgroup (v2: with the pids controller handed down to it and its children). */
async function usable(parent: string, tried: string[], v2: boolean): Promise<string | undefined> {
  try {
    await mkdir(parent, { recursive: true });
    if (v2) {
      await appendFile(join(parent, "..", "cgroup.subtree_control"), "+pids").catch(() => undefined);
      await writeFile(join(parent, "cgroup.subtree_control"), "+pids");
    }
    // Prove we may create (and remove) a child: a read-only or delegated-elsewhere hierarchy fails here.
    const probe = join(parent, `probe-${process.pid}-${randomBytes(4).toString("hex")}`);
    await mkdir(probe);
    const hasMax = existsSync(join(probe, "pids.max"));
    await rmdir(probe);
    if (!hasMax) {
      tried.push(`${parent}: no pids.max in a child cgroup`);
      return undefined;
    }
    await sweep(parent);
    return parent;
  } catch (err) {
    tried.push(`${parent}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** Remove the empty cgroups of runner processes that are gone (killed before they removed their own); others' are left alone. */
async function sweep(parent: string): Promise<void> {
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const owner = /^t-(\d+)-[0-9a-f]+$/.exec(name)?.[1];
    if (owner === undefined || existsSync(`/proc/${owner}`)) continue;
    await rmdir(join(parent, name)).catch(() => undefined); // not empty: a process is still in it
  }
}

/** One sandbox's cgroup: made before bwrap starts, removed after it ended. */
export class SandboxCgroup {
  private constructor(
    readonly dir: string,
    readonly kind: "cgroup-v1" | "cgroup-v2",
  ) {}

  static async create(limiter: Extract<PidsLimiter, { kind: "cgroup-v1" | "cgroup-v2" }>): Promise<SandboxCgroup> {
    const dir = join(limiter.parent, `t-${process.pid}-${randomBytes(6).toString("hex")}`);
    await mkdir(dir);
    try {
      await writeFile(join(dir, "pids.max"), String(limiter.pidsMax));
    } catch (err) {
      await rmdir(dir).catch(() => undefined);
      throw new LimitError(`cannot set pids.max in ${dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return new SandboxCgroup(dir, limiter.kind);
  }

  /** Move a process (its whole thread group) into the cgroup. */
  async adopt(pid: number): Promise<void> {
    await writeFile(join(this.dir, "cgroup.procs"), String(pid));
  }

  async members(): Promise<number[]> {
    const text = await readFile(join(this.dir, "cgroup.procs"), "utf8").catch(() => "");
    return text.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
  }

  /** Forks refused because the cgroup was full (`pids.events` `max N`); 0 when unknown. */
  async forksRefused(): Promise<number> {
    const events = await readFile(join(this.dir, "pids.events"), "utf8").catch(() => "");
    return Number(/^max\s+(\d+)$/m.exec(events)?.[1] ?? 0);
  }

  /**
   * SIGKILL every member until none is left: a bomb still forking refills the list, but
   * pids.max bounds it, and killed processes fork no more. cgroup v2's `cgroup.kill` does
   * it in one write.
   */
  async killAll(): Promise<void> {
    if (this.kind === "cgroup-v2" && existsSync(join(this.dir, "cgroup.kill"))) await writeFile(join(this.dir, "cgroup.kill"), "1").catch(() => undefined);
    for (let round = 0; round < 200; round++) {
      const pids = await this.members();
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
      await sleep(round < 10 ? 5 : 25);
    }
  }

  /** Kill what is left and remove the cgroup (a cgroup with members cannot be removed). */
  async remove(): Promise<void> {
    await this.killAll();
    for (let round = 0; round < 40; round++) {
      try {
        await rmdir(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        // EBUSY: a killed member not reaped yet.
        await sleep(25);
        await this.killAll();
      }
    }
  }
}
