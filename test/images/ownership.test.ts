// Images built by an unprivileged user: `mkfs.ext4 -d` records the builder's uid/gid, so the
// builder sets every inode's owner to 0:0 inside the filesystem (docs/images.md §2). The
// commit is built into a qcow2 as uid 65534 (setpriv), then read back without mounting.
import { execFile } from "node:child_process";
import { chmod, chown, lstat, mkdir, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, type Composed } from "@atomic-ci/compose";
import { buildFixtureWorld } from "../fixture-world/src/index.js";
import { cleanup, ctx, scratch } from "../compose/support.js";

const run = promisify(execFile);
const MAX = { maxBuffer: 64 * 1024 * 1024 };
const NOBODY = 65534;

let base: string;
let repo: string;
let composed: Composed;
let qcow2: string;
let built: { uid: number };

async function tool(cmd: string, ...args: string[]): Promise<string> {
  return (await run(cmd, args, MAX)).stdout;
}

/** One partition of the qcow2 as an ext4 image file. */
async function partition(label: string): Promise<string> {
  const raw = join(base, "disk.raw");
  await lstat(raw).catch(() => tool("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2, raw));
  const table = JSON.parse(await tool("sfdisk", "--json", raw)) as { partitiontable: { partitions: { start: number; size: number; name?: string }[] } };
  const part = table.partitiontable.partitions.find((p) => p.name === label);
  if (!part) throw new Error(`no partition ${label}`);
  const out = join(base, `${label}.ext4`);
  await lstat(out).catch(() => tool("dd", `if=${raw}`, `of=${out}`, "bs=512", `skip=${part.start}`, `count=${part.size}`, "status=none"));
  return out;
}

/** uid/gid of one path, read with `debugfs -R "stat PATH"`. */
async function owner(fs: string, path: string): Promise<{ uid: number; gid: number }> {
  const out = await tool("debugfs", "-R", `stat "${path}"`, fs);
  const m = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
  if (!m) throw new Error(`debugfs stat ${path}: ${out}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** Every path below `dir` (rdump'ed by root, which keeps the inodes' owners) with its uid and gid. */
async function owners(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const abs = join(entry.parentPath, entry.name);
    const st = await lstat(abs);
    out.set(`/${relative(dir, abs)}`, `${st.uid}:${st.gid}`);
  }
  return out;
}

beforeAll(async () => {
  const world = await buildFixtureWorld();
  base = await scratch("ownership");
  repo = join(base, "repo");
  const result = await compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir: join(base, "work"), changeSetId: "cs-ownership" }, ctx);
  if (result.type !== "composed") throw new Error(`compose failed: ${JSON.stringify(result)}`);
  composed = result;
  // The unprivileged builder reads the compose's repository and writes only its own directories.
  await chmod(base, 0o755);
  await run("chmod", ["-R", "a+rX", repo]);
  const home = join(base, "nobody");
  await mkdir(home);
  await chown(home, NOBODY, NOBODY);
  const args = JSON.stringify({ repo, commit: composed.commit, ref: composed.ref, outDir: join(home, "images"), workDir: join(home, "work") });
  const tsx = join(process.cwd(), "node_modules", ".bin", "tsx");
  const { stdout } = await run("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", tsx, join(process.cwd(), "test", "images", "build-as-user.ts"), args], {
    ...MAX,
    cwd: process.cwd(),
    env: { ...process.env, HOME: home, TMPDIR: home },
  });
  const out = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as { dir: string; meta: { images: Record<string, { path: string }> }; uid: number };
  built = out;
  qcow2 = join(out.dir, out.meta.images["qcow2"]?.path ?? "");
}, 300_000);

afterAll(cleanup);

describe("an image built by an unprivileged user", () => {
  it("was built as uid 65534 (its own files are that user's)", async () => {
    expect(built.uid).toBe(NOBODY);
    expect((await lstat(qcow2)).uid).toBe(NOBODY);
  });

  it("has every file of both filesystems owned by 0:0, as the commit says", async () => {
    const rootFs = await partition("root");
    const bootFs = await partition("boot");
    const deployment = `/ostree/deploy/fedora-atomic/deploy/${composed.commit}.0`;
    // debugfs stat, inode by inode, for a few paths of each kind.
    for (const path of [`${deployment}/usr/bin/busybox`, `${deployment}/usr/etc/os-release`, `${deployment}/etc`, `${deployment}.origin`, "/ostree/repo/config", "/ostree/repo/objects"]) {
      expect(await owner(rootFs, path), path).toEqual({ uid: 0, gid: 0 });
    }
    expect(await owner(bootFs, "/loader.1/entries/ostree-1-fedora-atomic.conf")).toEqual({ uid: 0, gid: 0 });

    // And every inode: both filesystems dumped whole by root (rdump keeps the owners).
    for (const [label, fs] of [["root", rootFs], ["boot", bootFs]] as const) {
      const dump = join(base, `dump-${label}`);
      await mkdir(dump);
      await tool("debugfs", "-R", `rdump / ${dump}`, fs);
      const all = await owners(dump);
      expect(all.size, label).toBeGreaterThan(label === "root" ? 500 : 3);
      expect([...all].filter(([, o]) => o !== "0:0"), label).toEqual([]);
    }
  });

  it("matches the commit's own uid and gid for every path under the deployment's /usr", async () => {
    const listing = await tool("ostree", "ls", `--repo=${repo}`, "-R", composed.commit, "/usr");
    const expected = new Map<string, string>();
    for (const line of listing.split("\n").filter(Boolean)) {
      const m = /^[-dl]0\d{4,5} (\d+) (\d+)\s+\d+ (\S+)/.exec(line);
      if (m) expected.set(m[3] ?? "", `${m[1] ?? ""}:${m[2] ?? ""}`);
    }
    const dump = join(base, "dump-root", "ostree", "deploy", "fedora-atomic", "deploy", `${composed.commit}.0`);
    const seen = await owners(join(dump, "usr"));
    expect(expected.size).toBeGreaterThan(100);
    for (const [path, want] of expected) {
      if (path === "/usr") continue;
      expect(seen.get(path.replace(/^\/usr/, "")), path).toBe(want);
    }
  });

  it("would not be without the fix: mkfs.ext4 -d as that user records its uid", async () => {
    const home = join(base, "nobody");
    const file = join(home, "plain.ext4");
    const as = (...argv: string[]) => run("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...argv]);
    await as("mkdir", "-p", join(home, "content", "d"));
    await as("cp", "/etc/hostname", join(home, "content", "d", "f"));
    await as("truncate", "-s", "16M", file);
    await as("mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", join(home, "content"), file);
    expect(await owner(file, "/d/f")).toEqual({ uid: NOBODY, gid: NOBODY });
  });
});
