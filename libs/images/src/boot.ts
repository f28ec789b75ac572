// The boot test: a qcow2 booted under QEMU (TCG, no KVM) with the tree's own kernel, initramfs
// and kernel arguments, read from the image's boot partition (its BLS entry) without mounting.
// The image-scoped tests run inside the booted system, one boot per image, and their results
// come back on the serial console. See docs/images.md, "The boot test".
//
// How the tests get in without changing what ships: the image is opened with `snapshot=on`
// (writes go to a throw-away overlay), and the tests sit on a second, read-only virtio disk
// (an ext4 image made by `mkfs.ext4 -d`). The kernel command line is the BLS entry's plus
// `init=<shell>` and `panic=-1`; the initramfs does its real work (modules, root=, ostree=,
// switch_root) and starts that shell on the console, which is told one line: mount the test
// disk, link its runner into the init's boot-hook directory, `exec` the tree's own init. The
// init (the fixture world's systemd stand-in) runs the hook — the tests — and powers off.
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { reportToolRun, toolTimingEnabled, type ToolContext } from "@atomic-ci/tools";
import { run } from "./tools.js";

/** A test run inside the booted system: a shell script; exit status 0 is PASS. */
export interface BootTest {
  /** Letters, digits, `.`, `_`, `-`. */
  name: string;
  script: string;
  /**
   * A directory on this machine whose content travels with the test (a dist-git test's `dir`):
   * copied to a writable `/var/tmp/atomic-ci-tests/<name>` in the guest, the script's cwd.
   */
  dir?: string;
  /** Limit of this test inside the guest (busybox `timeout`); its end counts as FAIL. None by default. */
  timeoutMs?: number;
}

export interface BootTestOptions {
  qcow2: string;
  /** Scratch space (the raw disk for reading the boot partition, kernel, initramfs, the test disk); removed afterwards. */
  workDir: string;
  /** Run after the built-in `boot-sanity`. */
  tests?: readonly BootTest[];
  /** Expected deployment commit (checked by boot-sanity when given). */
  commit?: string;
  /** Whole boot, from QEMU's start to its exit. Default 120 s. */
  timeoutMs?: number;
  /**
   * Once the tests start (the runner's first console line), the limit is re-armed to this many
   * milliseconds: a slow boot and long tests each get their own budget. Default: none (the
   * whole boot stays within `timeoutMs`).
   */
  testsTimeoutMs?: number;
  memoryMiB?: number;
  /** Default `qemu-system-x86_64`. */
  qemu?: string;
  /** The shell started by the initramfs instead of the init, in the image. Default `/usr/bin/sh`. */
  shell?: string;
  /** The tree's init, exec'ed once the tests are in place. Default `/sbin/init`. */
  init?: string;
  /** The init's boot-hook directory. Default `/etc/fixture-boot.d` (the fixture world's systemd stand-in). */
  hookDir?: string;
  /** Called with each console chunk as it arrives. */
  onConsole?: (text: string) => void;
}

export interface BootEntry {
  title: string;
  options: string;
  /** Paths relative to the boot partition's root. */
  linux: string;
  initrd: string;
  /** From `vmlinuz-<kver>`. */
  kver: string;
}

export interface BootTestResult {
  name: string;
  outcome: "PASS" | "FAIL";
  /** The test's output lines. */
  log: string[];
  /** The script's exit status (absent on consoles of older runners). */
  exitCode?: number;
}

export type BootOutcome =
  | {
      status: "passed" | "failed";
      results: BootTestResult[];
      entry: BootEntry;
      /** From `uname -r` inside the guest. */
      kernelRelease: string;
      /** Milliseconds from QEMU's start: to the initramfs, to switch_root, to the tests starting, to QEMU's exit. */
      timings: BootTimings;
      console: string;
      /** The kernel command line used. */
      cmdline: string;
    }
  | {
      status: "error";
      /** `kernel-panic`, `timeout`, `initramfs-emergency`, `no-boot-entry`, `qemu-failed`, `incomplete`. */
      kind: string;
      reason: string;
      results: BootTestResult[];
      entry?: BootEntry;
      timings: Partial<BootTimings>;
      console: string;
      cmdline?: string;
    };

export interface BootTimings {
  initramfs: number;
  switchRoot: number;
  testsStart: number;
  total: number;
}

export const DEFAULT_BOOT_TIMEOUT_MS = 120_000;
export const BOOT_SANITY = "boot-sanity";
const TEST_NAME = /^[A-Za-z0-9._-]+$/;
const TEST_MOUNT = "/var/lib/atomic-ci-tests";
/** Writable copies of the tests' directories (the test disk is read-only) and their artifacts, in the guest. */
const GUEST_WORK = "/var/tmp/atomic-ci-tests";
const GUEST_ARTIFACTS = "/var/tmp/atomic-ci-artifacts";
/** ESC [6n: the cursor-position query busybox's line editing sends after its prompt. */
const CURSOR_QUERY = `${String.fromCharCode(27)}[6n`;

/** Console markers: written by the runner on the test disk, parsed here. */
export const MARKERS = {
  bootOk: "ATOMIC-CI-BOOT-OK",
  log: "ATOMIC-CI-LOG",
  result: "ATOMIC-CI-RESULT",
  done: "ATOMIC-CI-TESTS-DONE",
} as const;

/** Reads the BLS entry (and the kernel and initramfs it names) from a qcow2's `boot` partition, without mounting. */
export async function readBootEntry(qcow2: string, workDir: string, ctx: ToolContext): Promise<BootEntry & { kernelPath: string; initrdPath: string }> {
  const raw = join(workDir, "disk.raw");
  await run("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", qcow2, raw], ctx);
  type Table = { partitiontable: { sectorsize?: number; partitions: { start: number; name?: string }[] } };
  const table = await run("sfdisk", ["--json", raw], ctx).then(
    (out) => JSON.parse(out.stdout) as Table,
    (err: unknown) => {
      throw new BootEntryError(`${qcow2} has no readable partition table: ${err instanceof Error ? err.message : String(err)}`);
    },
  );
  const sector = table.partitiontable.sectorsize ?? 512;
  const boot = table.partitiontable.partitions.find((p) => p.name === "boot");
  if (!boot) throw new BootEntryError(`${qcow2} has no partition named boot`);
  const fs = `${raw}?offset=${boot.start * sector}`;
  const debugfs = async (request: string) => (await run("debugfs", ["-R", request, fs], ctx)).stdout;
  const entries = (await debugfs("ls -p /loader/entries"))
    .split("\n")
    .map((line) => line.split("/")[5] ?? "")
    .filter((name) => name.endsWith(".conf"))
    .sort();
  const first = entries[0];
  if (!first) throw new BootEntryError(`${qcow2}: no BLS entry under /loader/entries of the boot partition`);
  const entry = parseBlsEntry(await debugfs(`cat /loader/entries/${first}`));
  const kernelPath = join(workDir, "vmlinuz");
  const initrdPath = join(workDir, "initramfs.img");
  await run("debugfs", ["-R", `dump ${entry.linux} ${kernelPath}`, fs], ctx);
  await run("debugfs", ["-R", `dump ${entry.initrd} ${initrdPath}`, fs], ctx);
  // debugfs prints errors and still exits 0: an absent file is an empty or missing dump.
  for (const path of [kernelPath, initrdPath]) {
    const size = (await readFile(path).catch(() => Buffer.alloc(0))).length;
    if (size === 0) throw new BootEntryError(`${qcow2}: ${path === kernelPath ? entry.linux : entry.initrd} named by ${first} is not in the boot partition`);
  }
  await rm(raw, { force: true });
  return { ...entry, kernelPath, initrdPath };
}

export class BootEntryError extends Error {
  override readonly name = "BootEntryError";
}

export function parseBlsEntry(text: string): BootEntry {
  const field = (key: string) => new RegExp(`^${key}[ \\t]+(.+)$`, "m").exec(text)?.[1]?.trim();
  const linux = field("linux");
  const initrd = field("initrd");
  const options = field("options");
  if (!linux || !initrd || !options) throw new BootEntryError(`BLS entry without linux, initrd or options:\n${text}`);
  const kver = /vmlinuz-([^/\s]+)$/.exec(linux)?.[1] ?? "";
  return { title: field("title") ?? "", options, linux, initrd, kver };
}

/** The boot-sanity test: the booted root is the deployment the entry names, /usr is read-only, /etc writable, /var mounted, the kernel is the tree's. */
export function bootSanityScript(entry: BootEntry, commit?: string): string {
  const ostreeArg = /(?:^|\s)ostree=(\S+)/.exec(entry.options)?.[1] ?? "";
  return `#!/bin/sh
# boot-sanity: the system booted is the deployment the boot entry names.
fail=0
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "ok $name"; else echo "not ok $name"; fail=1; fi; }
echo "uname -r: $(uname -r)"
echo "cmdline: $(cat /proc/cmdline)"
sed 's/^/os-release: /' /etc/os-release 2>/dev/null || sed 's/^/os-release: /' /usr/lib/os-release
sed 's/^/mount: /' /proc/mounts
check kernel-release [ "$(uname -r)" = "${entry.kver}" ]
check ostree-karg grep -q "ostree=${ostreeArg}" /proc/cmdline
deploy=$(cd "/sysroot${ostreeArg}" 2>/dev/null && pwd -P)
echo "deployment: $deploy"
root_id=$(stat -c %d:%i /)
deploy_id=$(stat -c %d:%i "$deploy" 2>/dev/null)
echo "root: $root_id, deployment: $deploy_id"
check root-is-deployment [ -n "$deploy" -a "$root_id" = "$deploy_id" ]
${commit ? `check deployment-commit [ "\${deploy##*/}" = "${commit}.0" ]` : ""}
check usr-read-only sh -c '! touch /usr/.atomic-ci-write-test'
check etc-writable sh -c 'touch /etc/.atomic-ci-write-test && rm /etc/.atomic-ci-write-test'
check var-mounted grep -q ' /var ' /proc/mounts
check sysroot-mounted grep -q ' /sysroot ' /proc/mounts
check os-release grep -q '^ID=' /usr/lib/os-release
exit $fail
`;
}

/**
 * The runner the init starts as a boot hook: every test (in a writable copy of its directory,
 * under its time limit when it has one), its output prefixed, then its result and exit status.
 */
function runnerScript(tests: readonly BootTest[]): string {
  const list = tests.map((t) => `${t.name}:${t.timeoutMs ? Math.max(1, Math.ceil(t.timeoutMs / 1000)) : 0}`);
  return `#!/bin/sh
echo "${MARKERS.bootOk} $(uname -r)"
for entry in ${list.join(" ")}; do
  name=\${entry%:*}; limit=\${entry##*:}
  work=${GUEST_WORK}/$name
  mkdir -p "$work" ${GUEST_ARTIFACTS}/$name
  if [ -d ${TEST_MOUNT}/tests/$name.d ]; then cp -a ${TEST_MOUNT}/tests/$name.d/. "$work"/; fi
  if [ "$limit" -gt 0 ] && command -v timeout >/dev/null 2>&1; then
    out=$(cd "$work" && TEST_ARTIFACTS=${GUEST_ARTIFACTS}/$name timeout "$limit" sh ${TEST_MOUNT}/tests/$name 2>&1 </dev/null)
  else
    out=$(cd "$work" && TEST_ARTIFACTS=${GUEST_ARTIFACTS}/$name sh ${TEST_MOUNT}/tests/$name 2>&1 </dev/null)
  fi
  rc=$?
  if [ $rc -eq 0 ]; then result=PASS; else result=FAIL; fi
  printf '%s\\n' "$out" | while IFS= read -r line; do echo "${MARKERS.log} $name: $line"; done
  echo "${MARKERS.result} $name $result $rc"
done
echo "${MARKERS.done}"
`;
}

/** Boots `opts.qcow2` once, runs boot-sanity and `opts.tests` inside it, and reads the results from the serial console. */
export async function bootTest(opts: BootTestOptions, ctx: ToolContext): Promise<BootOutcome> {
  for (const t of opts.tests ?? []) {
    if (!TEST_NAME.test(t.name) || t.name === BOOT_SANITY) throw new Error(`invalid boot test name ${JSON.stringify(t.name)}`);
  }
  await mkdir(opts.workDir, { recursive: true });
  const work = await mkdtemp(join(opts.workDir, "boot-"));
  try {
    let entry: Awaited<ReturnType<typeof readBootEntry>>;
    try {
      entry = await readBootEntry(opts.qcow2, work, ctx);
    } catch (err) {
      if (!(err instanceof BootEntryError)) throw err;
      return { status: "error", kind: "no-boot-entry", reason: err.message, results: [], timings: {}, console: "" };
    }
    const tests: BootTest[] = [{ name: BOOT_SANITY, script: bootSanityScript(entry, opts.commit) }, ...(opts.tests ?? [])];
    const testDisk = await makeTestDisk(join(work, "tests"), tests, ctx);
    const cmdline = `${entry.options} init=${opts.shell ?? "/usr/bin/sh"} panic=-1`;
    const args = [
      "-machine", "q35", "-accel", "tcg", "-m", String(opts.memoryMiB ?? 1024), "-smp", "1",
      "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
      "-kernel", entry.kernelPath, "-initrd", entry.initrdPath, "-append", cmdline,
      "-drive", `file=${opts.qcow2},if=virtio,format=qcow2,snapshot=on`,
      "-drive", `file=${testDisk},if=virtio,format=raw,readonly=on`,
    ];
    const hook = `${opts.hookDir ?? "/etc/fixture-boot.d"}/zz-atomic-ci-tests`;
    const command = `mkdir -p ${TEST_MOUNT} ${opts.hookDir ?? "/etc/fixture-boot.d"} && mount -t ext4 -o ro /dev/vdb ${TEST_MOUNT} && ln -sf ${TEST_MOUNT}/run ${hook} && exec ${opts.init ?? "/sbin/init"}`;
    const rest = await runQemu(opts.qemu ?? "qemu-system-x86_64", args, command, { boot: opts.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS, ...(opts.testsTimeoutMs ? { tests: opts.testsTimeoutMs } : {}) }, ctx, opts.onConsole);
    const publicEntry: BootEntry = { title: entry.title, options: entry.options, linux: entry.linux, initrd: entry.initrd, kver: entry.kver };
    const results = parseResults(rest.console);
    if (rest.error) return { status: "error", ...rest.error, results, entry: publicEntry, timings: rest.timings, console: rest.console, cmdline };
    const kernelRelease = new RegExp(`${MARKERS.bootOk} (\\S+)`).exec(rest.console)?.[1] ?? "";
    const missing = tests.filter((t) => !results.some((r) => r.name === t.name)).map((t) => t.name);
    if (!rest.console.includes(MARKERS.done) || missing.length > 0) {
      return { status: "error", kind: "incomplete", reason: `the system powered off before reporting ${missing.join(", ") || "the end of the tests"}`, results, entry: publicEntry, timings: rest.timings, console: rest.console, cmdline };
    }
    const timings = rest.timings as BootTimings;
    return { status: results.every((r) => r.outcome === "PASS") ? "passed" : "failed", results, entry: publicEntry, kernelRelease, timings, console: rest.console, cmdline };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function makeTestDisk(dir: string, tests: readonly BootTest[], ctx: ToolContext): Promise<string> {
  await mkdir(join(dir, "content", "tests"), { recursive: true });
  for (const t of tests) {
    const path = join(dir, "content", "tests", t.name);
    await writeFile(path, t.script);
    await chmod(path, 0o755);
    if (t.dir) {
      await mkdir(`${path}.d`, { recursive: true });
      await run("cp", ["-a", "--", `${t.dir}/.`, `${path}.d/`], ctx);
    }
  }
  const runner = join(dir, "content", "run");
  await writeFile(runner, runnerScript(tests));
  await chmod(runner, 0o755);
  const bytes = Number((await run("du", ["-s", "--block-size=1", join(dir, "content")], ctx)).stdout.split(/\s/)[0]);
  const inodes = Number((await run("du", ["-s", "--inodes", join(dir, "content")], ctx)).stdout.split(/\s/)[0]);
  const size = 4 + Math.ceil((bytes * 1.5 + inodes * 4096) / (1024 * 1024));
  const image = join(dir, "tests.ext4");
  await run("mkfs.ext4", ["-q", "-F", "-L", "atomic-ci-tests", "-E", "root_owner=0:0", "-d", join(dir, "content"), image, `${size}M`], ctx);
  return image;
}

interface QemuRun {
  console: string;
  timings: Partial<BootTimings>;
  error?: { kind: string; reason: string };
}

/** Runs QEMU, types `command` into the shell the initramfs starts, and collects the console until QEMU exits or the timeout. */
function runQemu(qemu: string, args: readonly string[], command: string, limits: { boot: number; tests?: number }, ctx: ToolContext, onConsole?: (text: string) => void): Promise<QemuRun> {
  return new Promise((resolve) => {
    const start = performance.now();
    const timings: Partial<BootTimings> = {};
    const since = () => Math.round(performance.now() - start);
    let console = "";
    let typed = false;
    let error: QemuRun["error"];
    const child = spawn(qemu, args, { env: { ...ctx.env }, stdio: ["pipe", "pipe", "pipe"] });
    const arm = (ms: number, what: string) =>
      setTimeout(() => {
        error = { kind: "timeout", reason: `no power-off within ${Math.round(ms / 1000)} s${what}` };
        child.kill("SIGKILL");
      }, ms);
    let timer = arm(limits.boot, "");
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8").replace(/\r/g, "");
      console += text;
      onConsole?.(text);
      if (timings.initramfs === undefined && console.includes("Run /init as init process")) timings.initramfs = since();
      if (timings.switchRoot === undefined && console.includes("initramfs: switching to")) timings.switchRoot = since();
      if (timings.testsStart === undefined && console.includes(MARKERS.bootOk)) {
        timings.testsStart = since();
        if (limits.tests !== undefined && !error) {
          clearTimeout(timer);
          timer = arm(limits.tests, " of the tests starting");
        }
      }
      // The shell is up once it has printed something after switch_root (its banner or prompt):
      // input typed earlier may be lost by the serial port.
      // busybox's prompt ends with a cursor-position query (ESC [6n); typing a moment later
      // keeps the command from being read as the terminal's answer.
      const shown = console.endsWith(CURSOR_QUERY) ? console.slice(0, -CURSOR_QUERY.length) : console;
      if (!typed && timings.switchRoot !== undefined && /switching to[^\n]*\n[\s\S]*[#$] $/.test(shown)) {
        typed = true;
        setTimeout(() => child.stdin.write(`${command}\n`), 200);
      }
      if (!error && /Kernel panic - not syncing/.test(console)) error = { kind: "kernel-panic", reason: /Kernel panic - not syncing:[^\n]*/.exec(console)?.[0] ?? "kernel panic" };
      if (!error && /initramfs: dropping to a shell/.test(console)) {
        error = { kind: "initramfs-emergency", reason: /initramfs: (?!dropping)[^\n]*/.exec(console.slice(console.indexOf("initramfs: atomic-ci") + 1))?.[0] ?? "initramfs emergency shell" };
        child.kill("SIGKILL");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.stdin.on("error", () => undefined);
    child.on("error", (err) => {
      error ??= { kind: "qemu-failed", reason: `cannot run ${qemu}: ${err.message}` };
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      timings.total = since();
      // qemu is spawned here (its console is interactive), not by runTool: report its run to the timing hook.
      if (toolTimingEnabled()) reportToolRun({ tool: qemu, args, startMs: start, endMs: performance.now(), exitCode: code });
      // The panic line may have arrived in pieces: its reason is read from the whole console.
      if (error?.kind === "kernel-panic") error = { kind: "kernel-panic", reason: /Kernel panic - not syncing:[^\n]*/.exec(console)?.[0]?.trim() ?? "kernel panic" };
      if (!error && code !== 0) error = { kind: "qemu-failed", reason: `${qemu} exited with ${code ?? signal ?? "?"}` };
      resolve({ console, timings, ...(error ? { error } : {}) });
    });
  });
}

/** The PASS/FAIL lines and each test's log lines, from the console. */
export function parseResults(consoleText: string): BootTestResult[] {
  const results: BootTestResult[] = [];
  const logs = new Map<string, string[]>();
  for (const line of consoleText.split("\n")) {
    const log = new RegExp(`${MARKERS.log} ([A-Za-z0-9._-]+): ?(.*)$`).exec(line);
    if (log?.[1] !== undefined) {
      const list = logs.get(log[1]) ?? [];
      list.push(log[2] ?? "");
      logs.set(log[1], list);
      continue;
    }
    const result = new RegExp(`${MARKERS.result} ([A-Za-z0-9._-]+) (PASS|FAIL)(?: (\\d+))?\\s*$`).exec(line);
    if (result?.[1] !== undefined) {
      results.push({ name: result[1], outcome: result[2] === "PASS" ? "PASS" : "FAIL", log: logs.get(result[1]) ?? [], ...(result[3] === undefined ? {} : { exitCode: Number(result[3]) }) });
    }
  }
  return results;
}
