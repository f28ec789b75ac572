// A key-container test on a composed host. Per attempt, in order (the first problem decides):
//   1. runtime: each of the definition's `runtime.commands` (podman/crun/conmon --version) runs
//      in the host-test sandbox of the commit's tree and must exit 0 — the host ships the tools
//      that run containers;
//   2. layout: the image's OCI layout is valid and every blob matches its digest and size;
//   3. unpack: the layers unpack (diff_ids match, whiteouts applied, nothing escapes the root);
//   4. smoke: the image's process (entrypoint/cmd, env, user from its config, overridden by
//      the definition) runs in a bwrap sandbox whose root is the unpacked image, with the time
//      limit and output cap of every test; its exit code and output must be what the
//      definition expects.
// A problem with the image or the host is `failed` (named: `image layout: ...`, `host runtime:
// ...`, `smoke: ...`); the runner's own trouble (ostree, bwrap, the disk) is `error`, retried.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ToolContext } from "@atomic-ci/tools";
import { isContainerTest, layoutDir, type ContainerTestCase } from "../discover/containers.js";
import type { TestCase } from "../model.js";
import type { Attempt } from "./attempt.js";
import type { TreeCache } from "./checkout.js";
import { containerBwrapArgs, findExecutable, resolveProcess } from "./container-sandbox.js";
import { ImageError, verifyLayout } from "./container-oci.js";
import { unpackImage, type UnpackLimits } from "./container-unpack.js";
import { execSandbox, STATUS_FD } from "./exec.js";
import { pidsLimiter, type PidsLimiter } from "./limits.js";
import { DEFAULT_ERROR_RETRIES, DEFAULT_MAX_OUTPUT_BYTES, runAttempts, runTest, type RunTestOptions, type TestRun } from "./runner.js";
import { bwrapArgs, SANDBOX_ARTIFACTS, SANDBOX_PATH, treeDirs, treeLinks } from "./sandbox.js";
import type { Check } from "./verdict.js";

/** Time limit of each host runtime command (`podman --version` answers at once). */
const RUNTIME_TIMEOUT_MS = 30_000;
const RUNTIME_OUTPUT_BYTES = 64 * 1024;

export interface ContainerRunOptions extends RunTestOptions {
  unpackLimits?: UnpackLimits;
}

export async function runContainerTest(test: ContainerTestCase, opts: ContainerRunOptions, ctx: ToolContext): Promise<TestRun> {
  await mkdir(opts.workDir, { recursive: true });
  const runDir = await mkdtemp(join(opts.workDir, `container-${test.name}-`));
  const limiter = await pidsLimiter(opts.limits);
  const maxOutputBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  return runAttempts(test, opts.errorRetries ?? DEFAULT_ERROR_RETRIES, (number) =>
    containerAttempt(test, number, { trees: opts.trees, subject: opts.subject, dir: join(runDir, `attempt-${number}`), maxOutputBytes, limiter, ...(opts.unpackLimits ? { unpackLimits: opts.unpackLimits } : {}) }, ctx),
  );
}

interface ContainerAttemptContext {
  trees: TreeCache;
  subject: string;
  dir: string;
  maxOutputBytes: number;
  limiter: PidsLimiter;
  unpackLimits?: UnpackLimits;
}

async function containerAttempt(test: ContainerTestCase, number: number, at: ContainerAttemptContext, ctx: ToolContext): Promise<Attempt> {
  const started = Date.now();
  const { image: spec, runtime } = test.container;
  const artifactsDir = join(at.dir, "artifacts");
  const logPath = join(artifactsDir, "output.log");
  const checks: Check[] = [];
  const base = { number, artifactsDir, logPath, checks };
  const pass = (name: string) => checks.push({ result: "PASS", name: `${spec.name}/${name}` });
  const failed = (name: string, reason: string, exitCode?: number): Attempt => {
    checks.push({ result: "FAIL", name: `${spec.name}/${name}` });
    return { ...base, outcome: "failed", reason, runtimeMs: Date.now() - started, ...(exitCode !== undefined ? { exitCode } : {}) };
  };
  const rootfs = join(at.dir, "rootfs");
  const report: Record<string, unknown> = { image: { name: spec.name, store: spec.store, layout: spec.layout, ref: spec.ref, digest: spec.digest } };
  try {
    await mkdir(artifactsDir, { recursive: true });
    await writeFile(logPath, "");
    const { commit, tree } = await at.trees.checkout(at.subject);

    const links = await treeLinks(tree);
    const dirs = await treeDirs(tree);
    for (const [i, argv] of runtime.entries()) {
      const shown = `\`${argv.join(" ")}\``;
      const check = `runtime/${[basename(argv[0] ?? ""), ...argv.slice(1)].join(" ")}`;
      // bwrap cannot tell a missing program from its own failure: look first, so a host without the tool fails, not errors.
      if ((await findExecutable(tree, argv[0] ?? "", SANDBOX_PATH, "/")) === null) return failed(check, `host runtime: ${shown}: ${JSON.stringify(argv[0])} is not in the composed host (PATH=${SANDBOX_PATH})`);
      const empty = join(at.dir, "runtime", String(i));
      await mkdir(empty, { recursive: true });
      const log = join(artifactsDir, `runtime-${i + 1}.log`);
      const env = { PATH: SANDBOX_PATH, HOME: "/root", USER: "root", LANG: "C", TERM: "dumb", TEST_SUBJECTS: commit, TEST_ARTIFACTS: SANDBOX_ARTIFACTS, ATOMIC_CI_ATTEMPT: String(number) };
      const args = bwrapArgs({ tree, links, dirs, testDir: empty, artifactsDir: empty, env, command: argv, statusFd: STATUS_FD });
      const run = await execSandbox(args, { env: ctx.env, logPath: log, timeoutMs: Math.min(RUNTIME_TIMEOUT_MS, spec.timeoutMs), maxOutputBytes: RUNTIME_OUTPUT_BYTES, limiter: at.limiter });
      if (run.stopped) return failed(check, `host runtime: ${shown} ${run.stopped === "timeout" ? "did not finish in time" : "wrote too much"}`);
      if (run.exitCode === undefined) return { ...base, outcome: "error", reason: `sandbox: ${run.setupError ?? "the runtime check did not start"}`, runtimeMs: Date.now() - started };
      if (run.exitCode !== 0) return failed(check, `host runtime: ${shown} exited ${run.exitCode} in the composed host${firstLine(await readFile(log, "utf8"))}`);
      pass(check);
    }

    const image = await verifyLayout(spec.store, layoutDir(spec), { ...(spec.ref !== undefined ? { ref: spec.ref } : {}), ...(spec.digest !== undefined ? { digest: spec.digest } : {}) });
    report["image"] = { ...(report["image"] as object), manifestDigest: image.manifestDigest, configDigest: image.configDigest, layers: image.layers.map((l) => l.digest) };
    pass("layout");
    report["unpack"] = await unpackImage(image, rootfs, join(at.dir, "layers"), at.unpackLimits);
    pass("unpack");
    const proc = await resolveProcess(image.config, spec, rootfs);
    report["process"] = proc;
    await writeFile(join(artifactsDir, "container.json"), `${JSON.stringify(report, null, 2)}\n`);

    const args = containerBwrapArgs({ ...proc, rootfs, hostname: spec.name, statusFd: STATUS_FD });
    const run = await execSandbox(args, { env: ctx.env, logPath, timeoutMs: spec.timeoutMs, maxOutputBytes: at.maxOutputBytes, limiter: at.limiter });
    // As for every test: hitting the process limit is said beside the reason (most likely a fork bomb).
    const hit = run.forksRefused > 0 ? ` (pids.max ${at.limiter.pidsMax} reached: ${run.forksRefused} fork(s) refused)` : "";
    if (run.stopped === "timeout") return failed("smoke", `timeout: stopped after its duration of ${spec.timeoutMs} ms${hit}`);
    if (run.stopped === "output-limit") return failed("smoke", `output-limit: wrote more than ${at.maxOutputBytes} bytes${hit}`);
    if (run.exitCode === undefined) return { ...base, outcome: "error", reason: `sandbox: ${run.setupError ?? "the container did not start"}`, runtimeMs: Date.now() - started };
    const output = (await readFile(logPath, "utf8")).slice(0, 1024 * 1024);
    if (run.exitCode !== spec.expect.exitCode) return failed("smoke", `smoke: \`${proc.argv.join(" ")}\` exited ${run.exitCode}, expected ${spec.expect.exitCode}${firstLine(output, true)}${hit}`, run.exitCode);
    if (spec.expect.output !== undefined && !new RegExp(spec.expect.output, "m").test(output)) {
      return failed("smoke", `smoke: output does not match /${spec.expect.output}/${firstLine(output, true)}`, run.exitCode);
    }
    pass("smoke");
    return { ...base, outcome: "passed", exitCode: run.exitCode, runtimeMs: Date.now() - started };
  } catch (err) {
    if (err instanceof ImageError) return failed(err.stage, `image ${err.stage}: ${err.message}`);
    return { ...base, outcome: "error", reason: err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err), runtimeMs: Date.now() - started };
  } finally {
    if (!("process" in report)) await writeFile(join(artifactsDir, "container.json"), `${JSON.stringify(report, null, 2)}\n`).catch(() => undefined);
    // The unpacked image is scratch: the artifacts (logs, container.json) are what is kept.
    await rm(rootfs, { recursive: true, force: true });
    await rm(join(at.dir, "layers"), { recursive: true, force: true });
  }
}

/** `: <line>` — the output line that says most: the first FAIL/ERROR line, else the last line. */
function firstLine(output: string, preferVerdict = false): string {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const line = (preferVerdict ? lines.find((l) => /^(FAIL|ERROR)\b/.test(l)) : undefined) ?? (preferVerdict ? lines[lines.length - 1] : lines[0]);
  // The image's output ends up in results and messages: no terminal escapes or other control characters.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  return line ? `: ${line.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, "?")}` : "";
}

/** Any host-level test: a key-container test by its own runner, every other test by `runTest`. */
export function runAnyTest(test: TestCase, opts: ContainerRunOptions, ctx: ToolContext): Promise<TestRun> {
  return isContainerTest(test) ? runContainerTest(test, opts, ctx) : runTest(test, opts, ctx);
}
