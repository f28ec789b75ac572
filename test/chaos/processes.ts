// The chaos suite's services: one OS process per service (`node --import tsx
// services/<name>/src/main.ts`, as deployed), each configured by a file (ATOMIC_CI_CONFIG), and a
// supervisor that starts a service again after it died — killed by the chaos loop, or exited on
// its own — after a short random delay, as OpenShift restarts a container.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENV_ALIASES, ENV_PREFIX, NON_CONFIG_ENV } from "@atomic-ci/runtime";

/** The repository root: services are started from their sources there, with the workspace's tsx. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;

export type Env = Readonly<Record<string, string | undefined>>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Why a service process ended: the chaos loop's SIGKILL, the final stop, or by itself. */
export type ExitCause = "killed" | "stopped" | "crashed";

export interface ExitRecord {
  service: string;
  pid: number;
  cause: ExitCause;
  exit: Exit;
  at: number;
}

interface Running {
  child: ChildProcess;
  exited: Promise<Exit>;
  cause?: ExitCause;
}

/** The environment of a service process: ours minus whatever would configure it over its file. */
export function serviceEnv(env: Env, configFile: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || key in ENV_ALIASES) continue;
    if (key.startsWith(ENV_PREFIX) && !NON_CONFIG_ENV.some((re) => re.test(key))) continue;
    out[key] = value;
  }
  out["ATOMIC_CI_CONFIG"] = configFile;
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // The whole process group: what the service spawned (dnf, bwrap, qemu) dies with it, as in a container.
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Starts, kills, restarts and stops the services of one chaos run. */
export class Supervisor {
  readonly exits: ExitRecord[] = [];
  readonly starts = new Map<string, number>();
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private readonly restarts = new Set<Promise<void>>();
  private readonly onExit = () => {
    for (const r of this.running.values()) signalGroup(r.child, "SIGKILL");
  };

  constructor(
    private readonly dir: string,
    private readonly env: Env,
    private readonly configs: Record<string, Record<string, unknown>>,
    /** Delay before a dead service is started again. */
    private readonly restartDelay: () => number,
    private readonly note: (line: string) => void,
  ) {
    process.once("exit", this.onExit);
  }

  get services(): string[] {
    return Object.keys(this.configs);
  }

  logOf(service: string): string {
    return join(this.dir, "logs", `${service}.log`);
  }

  /** Start every service; resolves once each logged `started`. */
  async startAll(): Promise<void> {
    await mkdir(join(this.dir, "config"), { recursive: true });
    await mkdir(join(this.dir, "logs"), { recursive: true });
    for (const [service, config] of Object.entries(this.configs)) {
      // JSON is YAML: the config loader reads it as it is.
      await writeFile(join(this.dir, "config", `${service}.json`), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    }
    await Promise.all(this.services.map((s) => this.start(s, true)));
  }

  private startedLines(service: string): number {
    try {
      return readFileSync(this.logOf(service), "utf8").split('"msg":"started"').length - 1;
    } catch {
      return 0;
    }
  }

  private async start(service: string, wait: boolean): Promise<void> {
    const before = this.startedLines(service);
    const fd = openSync(this.logOf(service), "a");
    const child = spawn(process.execPath, ["--import", "tsx", join("services", service, "src", "main.ts")], {
      cwd: ROOT,
      env: serviceEnv(this.env, join(this.dir, "config", `${service}.json`)),
      stdio: ["ignore", fd, fd],
      detached: true,
      shell: false,
    });
    closeSync(fd);
    this.starts.set(service, (this.starts.get(service) ?? 0) + 1);
    const exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    const running: Running = { child, exited };
    this.running.set(service, running);
    void exited.then((exit) => {
      const cause = running.cause ?? "crashed";
      this.exits.push({ service, pid: child.pid ?? -1, cause, exit, at: Date.now() });
      if (cause === "crashed" && !this.stopping) this.note(`${service} (pid ${child.pid ?? "?"}) exited by itself: ${exit.code ?? exit.signal ?? "?"}`);
      if (this.stopping || this.running.get(service) !== running) return;
      const restart = (async () => {
        await sleep(this.restartDelay());
        if (!this.stopping && this.running.get(service) === running) await this.start(service, false);
      })();
      this.restarts.add(restart);
      void restart.finally(() => this.restarts.delete(restart));
    });
    if (!wait) return;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (this.startedLines(service) <= before) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${service} exited before it started; its log: ${this.logOf(service)}`);
      if (Date.now() > deadline) throw new Error(`${service} did not start within ${START_TIMEOUT_MS / 1000} s; its log: ${this.logOf(service)}`);
      await sleep(200);
    }
  }

  /** SIGKILL one service's process group (the supervisor starts it again). False when it was not running. */
  kill(service: string): boolean {
    const r = this.running.get(service);
    if (!r || r.child.exitCode !== null || r.child.signalCode !== null || r.cause) return false;
    r.cause = "killed";
    signalGroup(r.child, "SIGKILL");
    return true;
  }

  /** Stop everything: SIGTERM, SIGKILL after a grace period. Returns the services that did not stop cleanly. */
  async stop(): Promise<string[]> {
    this.stopping = true;
    await Promise.all([...this.restarts]);
    const problems: string[] = [];
    await Promise.all(
      [...this.running.entries()].map(async ([service, r]) => {
        if (r.child.exitCode !== null || r.child.signalCode !== null) return;
        r.cause = "stopped";
        signalGroup(r.child, "SIGTERM");
        const exit = await Promise.race([r.exited, sleep(STOP_GRACE_MS).then(() => undefined)]);
        if (!exit) {
          signalGroup(r.child, "SIGKILL");
          await r.exited;
          problems.push(`${service}: did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM`);
        } else if (exit.code !== 0 && exit.signal !== "SIGTERM") {
          problems.push(`${service}: exited ${exit.code ?? exit.signal ?? "?"} on SIGTERM`);
        }
      }),
    );
    process.off("exit", this.onExit);
    return problems;
  }
}
