#!/usr/bin/env node
// Brings a fresh clone to a working state using only Node.js and npm, then runs a task:
//   node scripts/bootstrap.mjs            set up only
//   node scripts/bootstrap.mjs test       set up, then lint, typecheck, schema check, every test
//   node scripts/bootstrap.mjs demo       set up, then the demo
// Setup = the OS tools the project drives (apt-get or dnf when missing), the pinned pnpm,
// and the workspace's dependencies (pnpm install --frozen-lockfile when the lockfile changed).
// No shell is involved: every command runs with an argument vector.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, "");
const task = process.argv[2] ?? "setup";
const extra = process.argv.slice(3);

function log(msg) {
  process.stderr.write(`[bootstrap] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.error) return { status: 127, error: r.error };
  return { status: r.status ?? 1 };
}

function quiet(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  return { status: r.error ? 127 : (r.status ?? 1), stdout: r.stdout ?? "" };
}

function must(cmd, args, what) {
  const r = run(cmd, args);
  if (r.status !== 0) {
    log(`${what} failed (${cmd} ${args.join(" ")} exited ${r.status})`);
    process.exit(r.status || 1);
  }
}

// 1. Node.js version (vitest 4 and undici 7 need >= 20.19).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  log(`Node.js ${process.versions.node} is too old: atomic-ci needs >= 20.19`);
  process.exit(1);
}

// 2. OS tools. Each entry: how to check, and the Debian / Fedora package that brings it.
const python = process.env.ATOMIC_CI_PYTHON ?? "/usr/bin/python3";
const has = (cmd) => quiet(cmd, ["--version"]).status !== 127;
const hasKernel = () => quiet("sh", ["-c", "ls /boot/vmlinuz-* >/dev/null 2>&1"]).status === 0;
const osTools = [
  { what: "python3-pika (interoperability tests)", check: () => quiet(python, ["-c", "import pika"]).status === 0, deb: "python3-pika", rpm: "python3-pika" },
  { what: "git", check: () => has("git"), deb: "git", rpm: "git" },
  { what: "rpmbuild and rpm2cpio", check: () => has("rpmbuild") && has("rpm2cpio"), deb: "rpm", rpm: "rpm-build" },
  { what: "createrepo_c", check: () => has("createrepo_c"), deb: "createrepo-c", rpm: "createrepo_c" },
  { what: "dnf", check: () => has("dnf"), deb: "dnf", rpm: "dnf" },
  { what: "ostree", check: () => has("ostree"), deb: "ostree", rpm: "ostree" },
  { what: "bwrap", check: () => has("bwrap"), deb: "bubblewrap", rpm: "bubblewrap" },
  { what: "cpio", check: () => has("cpio"), deb: "cpio", rpm: "cpio" },
  { what: "busybox (static, for the fixture host's shell)", check: () => quiet("sh", ["-c", "test -x /bin/busybox"]).status === 0, deb: "busybox-static", rpm: "busybox" },
  { what: "a Linux kernel to package into the fixture host", check: hasKernel, deb: "linux-image-amd64", rpm: "kernel-core" },
  { what: "gpg (signing releases)", check: () => has("gpg"), deb: "gnupg", rpm: "gnupg2" },
  { what: "xz (compressing published images)", check: () => has("xz"), deb: "xz-utils", rpm: "xz" },
  { what: "qemu-img", check: () => has("qemu-img"), deb: "qemu-utils", rpm: "qemu-img" },
  { what: "qemu-system-x86_64 (boot tests of the images)", check: () => has("qemu-system-x86_64"), deb: "qemu-system-x86", rpm: "qemu-system-x86-core" },
  { what: "sfdisk", check: () => has("sfdisk"), deb: "fdisk", rpm: "util-linux" },
  { what: "mkfs.ext4 and debugfs", check: () => has("mkfs.ext4") && quiet("debugfs", ["-V"]).status !== 127, deb: "e2fsprogs", rpm: "e2fsprogs" },
  { what: "chromium (the dashboard's browser test drives /usr/bin/chromium)", check: () => existsSync("/usr/bin/chromium"), deb: "chromium", rpm: "chromium" },
];
const missing = osTools.filter((t) => !t.check());
if (missing.length > 0) {
  const asRoot = process.getuid?.() === 0;
  const sudo = asRoot ? [] : ["sudo", "-n"];
  const withPriv = (cmd, args) => (sudo.length ? run(sudo[0], [...sudo.slice(1), cmd, ...args]) : run(cmd, args));
  if (quiet("apt-get", ["--version"]).status === 0) {
    log(`installing with apt-get: ${missing.map((m) => m.deb).join(" ")}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    let r = withPriv("apt-get", ["install", "-y", "--no-install-recommends", ...missing.map((m) => m.deb)], { env });
    if (r.status !== 0) {
      withPriv("apt-get", ["update"]);
      r = withPriv("apt-get", ["install", "-y", "--no-install-recommends", ...missing.map((m) => m.deb)]);
    }
  } else if (quiet("dnf", ["--version"]).status === 0) {
    log(`installing with dnf: ${missing.map((m) => m.rpm).join(" ")}`);
    withPriv("dnf", ["install", "-y", ...missing.map((m) => m.rpm)]);
  }
  const still = missing.filter((t) => !t.check());
  if (still.length > 0) {
    log(`missing OS tools that could not be installed: ${still.map((t) => t.what).join(", ")}`);
    process.exit(1);
  }
}

// 3. pnpm, pinned by packageManager. Installed with npm (global when allowed, else local).
function pnpmCommand() {
  if (quiet("pnpm", ["--version"]).stdout.trim() === pnpmVersion) return "pnpm";
  const local = join(root, ".cache", "pnpm", "node_modules", ".bin", "pnpm");
  if (existsSync(local) && quiet(local, ["--version"]).stdout.trim() === pnpmVersion) return local;
  log(`installing pnpm ${pnpmVersion}`);
  if (run("npm", ["install", "-g", `pnpm@${pnpmVersion}`, "--no-fund", "--no-audit"]).status === 0 &&
      quiet("pnpm", ["--version"]).stdout.trim() === pnpmVersion) return "pnpm";
  mkdirSync(join(root, ".cache", "pnpm"), { recursive: true });
  must("npm", ["install", "--prefix", join(root, ".cache", "pnpm"), `pnpm@${pnpmVersion}`, "--no-fund", "--no-audit"], "installing pnpm locally");
  return local;
}
const pnpm = pnpmCommand();

// 4. Workspace dependencies, reinstalled only when the lockfile changed.
const lock = readFileSync(join(root, "pnpm-lock.yaml"));
const stamp = join(root, "node_modules", ".atomic-ci-lock-hash");
const hash = createHash("sha256").update(lock).update(pnpmVersion).digest("hex");
if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== hash) {
  must(pnpm, ["install", "--frozen-lockfile"], "pnpm install");
  writeFileSync(stamp, hash);
}

// 5. The task.
const tasks = {
  setup: [],
  test: [
    ["run", "lint"],
    ["run", "typecheck"],
    ["run", "schemas:check"],
    ["run", "test:vitest", ...extra],
  ],
  demo: [["--silent", "atomic-ci", "demo", ...extra]],
};
if (!(task in tasks)) {
  log(`unknown task ${task}; use setup, test or demo`);
  process.exit(2);
}
for (const args of tasks[task]) must(pnpm, args, `pnpm ${args.join(" ")}`);
