// The build sandbox with the real bwrap: what a command inside can and cannot do.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isToolError } from "./errors.js";
import { rpmbuild } from "./rpmbuild.js";
import { runSandboxed, SandboxError, type SandboxSpec } from "./sandbox.js";

let dir: string;
let writable: string;
let readOnly: string;
const options = { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeoutMs: 60_000 };

const spec = (script: string, extra: Partial<SandboxSpec> = {}): SandboxSpec => ({
  writable: [writable],
  readOnly: [readOnly],
  env: { PATH: "/usr/bin", SECRET_LOOKING: "only-what-we-pass" },
  cwd: writable,
  command: ["/bin/sh", "-c", script],
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-sandbox-"));
  writable = join(dir, "top");
  readOnly = join(dir, "src");
  await mkdir(writable);
  await mkdir(readOnly);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("runSandboxed", () => {
  it("runs the command with only its own environment, writing where it is allowed to", async () => {
    const result = await runSandboxed(spec('echo out; echo err >&2; env | sort > env.txt; echo ok > "$PWD/file"'), options);
    expect(result).toMatchObject({ code: 0, stdout: "out\n", stderr: "err\n" });
    expect(await readFile(join(writable, "file"), "utf8")).toBe("ok\n");
    const env = await readFile(join(writable, "env.txt"), "utf8");
    expect(env).toContain("SECRET_LOOKING=only-what-we-pass");
    expect(env).not.toContain("HOME=");
  });

  it("cannot write to the read-only binds, the root, /tmp or the directory around its tree", async () => {
    const err = await runSandboxed(spec(`for p in ${readOnly}/x /x /tmp/x ${dir}/x /usr/x /etc/x; do touch "$p" 2>/dev/null && echo "WROTE $p"; done; exit 9`), options).catch((e: unknown) => e);
    expect(isToolError(err, "TOOL_FAILED") && err.exitCode === 9).toBe(true);
    expect(isToolError(err) ? err.stdout : "").not.toContain("WROTE");
    expect(existsSync(join(readOnly, "x")) || existsSync(join(dir, "x"))).toBe(false);
  });

  it("has no network and sees none of the host's files beyond /usr and a few of /etc", async () => {
    const err = await runSandboxed(spec("ls /root /home /var 2>&1; test -e /etc/shadow && echo SHADOW; cat /proc/net/route | wc -l; curl -sS --max-time 5 http://127.0.0.1:1/ 2>&1; exit 7"), options).catch((e: unknown) => e);
    expect(isToolError(err) && err.exitCode === 7).toBe(true);
    const out = isToolError(err) ? err.stdout : "";
    expect(out).not.toContain("SHADOW");
    expect(out).toMatch(/No such file or directory/);
    expect(out).toMatch(/Failed to connect|Couldn't connect|Network is unreachable/);
  });

  it("says SandboxError when bwrap cannot set up, never blaming the command", async () => {
    await expect(runSandboxed(spec("true", { readOnly: [join(dir, "missing")] }), options)).rejects.toBeInstanceOf(SandboxError);
  });

  it("stops a command at its time limit and its output limit", async () => {
    await expect(runSandboxed(spec("sleep 30"), { ...options, timeoutMs: 1_000 })).rejects.toMatchObject({ code: "TOOL_TIMEOUT" });
    await expect(runSandboxed(spec("yes"), { ...options, maxOutputBytes: 64 * 1024 })).rejects.toMatchObject({ code: "TOOL_OUTPUT_LIMIT" });
  });
});

describe("rpmbuild in the sandbox", () => {
  it("lists the RPMs it finds, not the ones the build claims to have written", async () => {
    const specDir = join(dir, "spec");
    await mkdir(specDir);
    const spec = join(specDir, "tiny.spec");
    const lines = ["Name: tiny", "Version: 1", "Release: 1", "Summary: t", "License: MIT", "BuildArch: noarch", "%description", "t", "%build", "echo 'Wrote: /etc/passwd.rpm'", "%install", "mkdir -p %{buildroot}/usr/share/tiny", "echo hi > %{buildroot}/usr/share/tiny/hi", "%files", "/usr/share/tiny/hi", ""];
    await writeFile(spec, lines.join("\n"));
    const topdir = join(dir, "rpmbuild-top");
    const result = await rpmbuild({ ...options, spec, topdir, sourceDir: specDir, defines: { debug_package: "%{nil}", __os_install_post: "%{nil}" }, sandbox: {} });
    expect(result.stdout).toContain("Wrote: /etc/passwd.rpm");
    expect(result.rpms).toEqual([join(topdir, "RPMS", "noarch", "tiny-1-1.noarch.rpm")]);
  });
});
