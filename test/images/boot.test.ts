// The boot test against the real tools: the fixture world is composed, built into a qcow2,
// and the qcow2 booted under QEMU (TCG) with the kernel, initramfs and arguments of its own
// boot entry; the tests run inside the booted system and report on the serial console.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, type Composed } from "@atomic-ci/compose";
import { BOOT_SANITY, bootTest, buildImages, parseBlsEntry, parseResults, type BootOutcome } from "@atomic-ci/images";
import { buildFixtureWorld } from "../fixture-world/src/index.js";
import { cleanup, ctx, scratch } from "../compose/support.js";

const run = promisify(execFile);

let base: string;
let composed: Composed;
let qcow2: string;
let qcow2Sum: string;
let kver: string;
let booted: BootOutcome;

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

beforeAll(async () => {
  const world = await buildFixtureWorld();
  base = await scratch("boot");
  const repo = join(base, "repo");
  const result = await compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir: join(base, "work"), changeSetId: "cs-boot" }, ctx);
  if (result.type !== "composed") throw new Error(`compose failed: ${JSON.stringify(result)}`);
  composed = result;
  const built = await buildImages({ repo, commit: composed.commit, ref: composed.ref, outDir: join(base, "images"), workDir: join(base, "image-work"), formats: ["qcow2"] }, ctx);
  const entry = built.meta.images["qcow2"];
  if (!entry) throw new Error("no qcow2");
  qcow2 = join(built.dir, entry.path);
  qcow2Sum = entry.sha256;
  const modules = (await run("ostree", ["ls", `--repo=${repo}`, "--nul-filenames-only", composed.commit, "/usr/lib/modules"])).stdout.split("\0").filter((p) => p.startsWith("/usr/lib/modules/"));
  kver = (modules[0] ?? "").replace("/usr/lib/modules/", "");
  booted = await bootTest(
    {
      qcow2,
      workDir: join(base, "boot-work"),
      commit: composed.commit,
      // The machine is shared and QEMU runs under TCG: a generous limit.
      timeoutMs: 300_000,
      tests: [
        { name: "podman-runs", script: "#!/bin/sh\npodman --version\n" },
        { name: "deliberately-fails", script: "#!/bin/sh\necho 'expected a file that is not there'\ntest -e /usr/share/no-such-file\n" },
      ],
    },
    ctx,
  );
}, 420_000);

afterAll(cleanup);

describe("booting a qcow2 with the tree's own kernel and initramfs", () => {
  it("boots through the initramfs into the deployment and runs boot-sanity, then the image tests", () => {
    if (booted.status === "error") throw new Error(`boot error ${booted.kind}: ${booted.reason}\n${booted.console}`);
    expect(booted.entry.kver).toBe(kver);
    expect(booted.kernelRelease).toBe(kver);
    expect(booted.cmdline).toMatch(new RegExp(`^root=LABEL=root rw console=ttyS0,115200n8 ostree=/ostree/boot\\.1/fedora-atomic/[0-9a-f]{64}/0 init=/usr/bin/sh panic=-1$`));
    expect(booted.console).toContain(`initramfs: switching to /dev/vda2 (/sysroot/ostree/deploy/fedora-atomic/deploy/${composed.commit}.0)`);
    // The tests ran as a boot hook of the tree's own init, which then reached its target.
    expect(booted.console).toContain("Welcome to Fedora Linux 41 (Atomic Host fixture)!");
    expect(booted.console).toContain("Reached target multi-user.target (fixture)");
    expect(booted.results.map((r) => [r.name, r.outcome])).toEqual([
      [BOOT_SANITY, "PASS"],
      ["podman-runs", "PASS"],
      ["deliberately-fails", "FAIL"],
    ]);
    expect(booted.status).toBe("failed");
    const sanity = booted.results[0]?.log ?? [];
    for (const check of ["kernel-release", "ostree-karg", "root-is-deployment", "deployment-commit", "usr-read-only", "etc-writable", "var-mounted", "sysroot-mounted", "os-release"]) {
      expect(sanity).toContain(`ok ${check}`);
    }
    expect(sanity).toContain("mount: /dev/vda2 /usr ext4 ro,relatime 0 0");
    expect(sanity).toContain("os-release: VARIANT_ID=atomic.host");
    expect(booted.results[1]?.log.join("\n")).toMatch(/podman version/);
    expect(booted.results[2]?.log).toEqual(["expected a file that is not there"]);
  });

  it("boots in order: switch_root, then the tests, then power-off", () => {
    if (booted.status === "error") throw new Error(booted.reason);
    expect(booted.timings.switchRoot).toBeLessThan(booted.timings.testsStart);
    expect(booted.timings.testsStart).toBeLessThanOrEqual(booted.timings.total);
  });

  it("leaves the image as it was (the boot writes to a snapshot)", async () => {
    expect(await sha256(qcow2)).toBe(qcow2Sum);
  });

  it("reports a hang as an error with the console log attached", async () => {
    // The boot has a generous budget (the machine is shared); the tests, once started, 20 s.
    const hung = await bootTest({ qcow2, workDir: join(base, "boot-work"), timeoutMs: 300_000, testsTimeoutMs: 20_000, tests: [{ name: "hangs", script: "#!/bin/sh\nsleep 600\n" }] }, ctx);
    expect(hung.status).toBe("error");
    if (hung.status !== "error") return;
    expect(hung.kind).toBe("timeout");
    expect(hung.reason).toBe("no power-off within 20 s of the tests starting");
    expect(hung.console).toContain("ATOMIC-CI-RESULT boot-sanity PASS");
    expect(hung.results.map((r) => r.name)).toEqual([BOOT_SANITY]);
  }, 360_000);

  it("runs a test in a copy of its directory, under its own limit in the guest, and reports its exit status", async () => {
    const files = join(base, "test-files");
    await mkdir(files, { recursive: true });
    await writeFile(join(files, "data.txt"), "hello from the test's directory\n");
    const outcome = await bootTest(
      {
        qcow2,
        workDir: join(base, "boot-work"),
        timeoutMs: 300_000,
        tests: [
          { name: "with-files", dir: files, script: "#!/bin/sh\ncat data.txt\necho written > out.txt && cat out.txt\necho \"artifacts: $TEST_ARTIFACTS\"\n" },
          { name: "exits-3", script: "#!/bin/sh\nexit 3\n" },
          { name: "too-slow", timeoutMs: 2000, script: "#!/bin/sh\nsleep 60\n" },
        ],
      },
      ctx,
    );
    if (outcome.status === "error") throw new Error(`boot error ${outcome.kind}: ${outcome.reason}\n${outcome.console}`);
    expect(outcome.results.map((r) => [r.name, r.outcome, r.exitCode])).toEqual([
      [BOOT_SANITY, "PASS", 0],
      ["with-files", "PASS", 0],
      ["exits-3", "FAIL", 3],
      ["too-slow", "FAIL", 143],
    ]);
    expect(outcome.results[1]?.log).toEqual(["hello from the test's directory", "written", "artifacts: /var/tmp/atomic-ci-artifacts/with-files"]);
  }, 360_000);

  it("reports a kernel panic (init exits) as an error with the console log attached", async () => {
    const panicked = await bootTest({ qcow2, workDir: join(base, "boot-work"), init: "/usr/bin/false", timeoutMs: 300_000 }, ctx);
    expect(panicked.status).toBe("error");
    if (panicked.status !== "error") return;
    expect(panicked.kind).toBe("kernel-panic");
    expect(panicked.reason).toMatch(/Attempted to kill init/);
    expect(panicked.console).toContain("Kernel panic - not syncing");
  }, 360_000);

  it("reports a disk without a boot entry as an error before starting QEMU", async () => {
    const blank = join(base, "blank.qcow2");
    await run("qemu-img", ["create", "-q", "-f", "qcow2", blank, "64M"]);
    const outcome = await bootTest({ qcow2: blank, workDir: join(base, "boot-work") }, ctx);
    expect(outcome).toMatchObject({ status: "error", kind: "no-boot-entry" });
  });
});

describe("reading the console and the boot entry", () => {
  it("parses PASS/FAIL lines with each test's log, ignoring kernel noise", () => {
    const text = "[    1.0] noise\nATOMIC-CI-LOG a: one\nATOMIC-CI-LOG a: two\nATOMIC-CI-RESULT a PASS\nATOMIC-CI-LOG b: x\nATOMIC-CI-RESULT b FAIL\n";
    expect(parseResults(text)).toEqual([
      { name: "a", outcome: "PASS", log: ["one", "two"] },
      { name: "b", outcome: "FAIL", log: ["x"] },
    ]);
  });

  it("reads the exit status the runner prints after PASS/FAIL", () => {
    expect(parseResults("ATOMIC-CI-LOG a: x\nATOMIC-CI-RESULT a FAIL 143\nATOMIC-CI-RESULT b PASS 0\n")).toEqual([
      { name: "a", outcome: "FAIL", log: ["x"], exitCode: 143 },
      { name: "b", outcome: "PASS", log: [], exitCode: 0 },
    ]);
  });

  it("parses a BLS entry and the kernel version from its linux path", () => {
    expect(parseBlsEntry("title T (ostree:0)\nversion 1\noptions root=LABEL=root rw\nlinux /ostree/os-abc/vmlinuz-6.1.0-56-amd64\ninitrd /ostree/os-abc/initramfs-6.1.0-56-amd64.img\n")).toEqual({
      title: "T (ostree:0)",
      options: "root=LABEL=root rw",
      linux: "/ostree/os-abc/vmlinuz-6.1.0-56-amd64",
      initrd: "/ostree/os-abc/initramfs-6.1.0-56-amd64.img",
      kver: "6.1.0-56-amd64",
    });
  });
});
