// The image builder against the real tools: the fixture world is composed once, then built
// into a GPT raw disk, qcow2, a Vagrant libvirt box and an AWS vmdk; each artifact is read
// back with the tools a user would use (sfdisk, qemu-img, tar, debugfs), never mounted.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, readlink, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, type Composed } from "@atomic-ci/compose";
import { buildImages, type BuiltImages, type ImageStep } from "@atomic-ci/images";
import { buildFixtureWorld, type FixtureWorld } from "../fixture-world/src/index.js";
import { cleanup, ctx, scratch } from "../compose/support.js";

const run = promisify(execFile);
const MAX = { maxBuffer: 64 * 1024 * 1024 };

let world: FixtureWorld;
let base: string;
let repo: string;
let composed: Composed;
let first: BuiltImages;
let second: BuiltImages;
let firstMtimes: Map<string, number>;
const steps: ImageStep[] = [];

interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  name?: string;
}

async function tool(cmd: string, ...args: string[]): Promise<string> {
  return (await run(cmd, args, MAX)).stdout;
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

function imagePath(format: string): string {
  const entry = first.meta.images[format];
  if (!entry) throw new Error(`no ${format} in meta.json`);
  return join(first.dir, entry.path);
}

async function partitions(disk: string): Promise<SfdiskPartition[]> {
  return (JSON.parse(await tool("sfdisk", "--json", disk)) as { partitiontable: { partitions: SfdiskPartition[] } }).partitiontable.partitions;
}

/** The raw disk behind the qcow2 (qemu-img convert back), and one partition cut out of it. */
async function rawDisk(): Promise<string> {
  const out = join(base, "back.raw");
  await stat(out).catch(() => tool("qemu-img", "convert", "-f", "qcow2", "-O", "raw", imagePath("qcow2"), out));
  return out;
}

async function partitionImage(label: string): Promise<string> {
  const disk = await rawDisk();
  const part = (await partitions(disk)).find((p) => p.name === label);
  if (!part) throw new Error(`no partition ${label}`);
  const out = join(base, `${label}.ext4`);
  await stat(out).catch(() => tool("dd", `if=${disk}`, `of=${out}`, "bs=512", `skip=${part.start}`, `count=${part.size}`, "status=none"));
  return out;
}

async function mtimes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path), (await stat(path)).mtimeMs);
  }
  return out;
}

beforeAll(async () => {
  world = await buildFixtureWorld();
  base = await scratch("images");
  repo = join(base, "repo");
  const result = await compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir: join(base, "work"), changeSetId: "cs-images" }, ctx);
  if (result.type !== "composed") throw new Error(`compose failed: ${JSON.stringify(result)}`);
  composed = result;
  const opts = { repo, commit: composed.commit, ref: composed.ref, outDir: join(base, "images"), workDir: join(base, "image-work") };
  first = await buildImages({ ...opts, onProgress: (step) => steps.push(step) }, ctx);
  firstMtimes = await mtimes(first.dir);
  second = await buildImages(opts, ctx);
});

afterAll(cleanup);

describe("building images of a compose commit", () => {
  it("builds every default format once and reports progress by step", () => {
    expect(first.built.sort()).toEqual(["aws-vmdk", "qcow2", "vagrant-libvirt"]);
    expect(Object.keys(first.meta.images).sort()).toEqual(["aws-vmdk", "qcow2", "vagrant-libvirt"]);
    expect(steps).toEqual(["sysroot", "disk", "qcow2", "vagrant-libvirt", "aws-vmdk", "meta"]);
  });

  it("writes a coreos-assembler shaped meta.json whose checksums match the files", async () => {
    const meta = JSON.parse(await readFile(first.metaPath, "utf8")) as typeof first.meta;
    expect(meta).toMatchObject({ buildid: composed.version, "ostree-commit": composed.commit, "ostree-version": composed.version, ref: composed.ref, name: "fedora-atomic-host" });
    for (const entry of Object.values(meta.images)) {
      const path = join(first.dir, entry.path);
      expect(await sha256(path)).toBe(entry.sha256);
      expect((await stat(path)).size).toBe(entry.size);
    }
    // qcow2 and vmdk expand to the raw disk; the box to its tar.
    const raw = await rawDisk();
    expect(meta.images.qcow2?.["uncompressed-sha256"]).toBe(await sha256(raw));
    expect(meta.images.qcow2?.["uncompressed-size"]).toBe((await stat(raw)).size);
    expect(meta.images["aws-vmdk"]?.["uncompressed-sha256"]).toBe(await sha256(raw));
    const tar = join(base, "box.tar");
    await run("sh", ["-c", 'gzip -dc "$1" > "$2"', "sh", imagePath("vagrant-libvirt"), tar]);
    expect(meta.images["vagrant-libvirt"]?.["uncompressed-sha256"]).toBe(await sha256(tar));
  });

  it("does the work once: a second build of the same commit reuses every file untouched", async () => {
    expect(second.built).toEqual([]);
    expect(second.reused.sort()).toEqual(["aws-vmdk", "qcow2", "vagrant-libvirt"]);
    expect(second.meta).toEqual(first.meta);
    expect(second.timings.sysroot).toBeUndefined();
    expect(await mtimes(second.dir)).toEqual(firstMtimes);
  });

  it("has a GPT with an ext4 boot and an ext4 root partition, labelled", async () => {
    const disk = await rawDisk();
    const parts = await partitions(disk);
    expect(parts.map((p) => p.name)).toEqual(["boot", "root"]);
    expect(parts.map((p) => p.type)).toEqual(["0FC63DAF-8483-4772-8E79-3D69D8477DE4", "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"]);
    for (const label of ["boot", "root"]) {
      const header = await tool("dumpe2fs", "-h", await partitionImage(label));
      expect(header).toMatch(new RegExp(`^Filesystem volume name:\\s+${label}$`, "m"));
      expect(header).toMatch(/^Filesystem features:.*extent/m);
    }
  });

  it("makes a qcow2 that qemu-img check finds clean", async () => {
    const info = JSON.parse(await tool("qemu-img", "info", "--output=json", imagePath("qcow2"))) as { format: string; "virtual-size": number };
    expect(info.format).toBe("qcow2");
    expect(info["virtual-size"]).toBe(first.meta.images.qcow2?.["uncompressed-size"]);
    expect(await tool("qemu-img", "check", imagePath("qcow2"))).toMatch(/No errors were found on the image/);
  });

  it("makes an AWS vmdk that qemu-img reads as streamOptimized", async () => {
    const info = JSON.parse(await tool("qemu-img", "info", "--output=json", imagePath("aws-vmdk"))) as { format: string; "format-specific": { data: { "create-type": string } } };
    expect(info.format).toBe("vmdk");
    expect(info["format-specific"].data["create-type"]).toBe("streamOptimized");
    expect(await tool("qemu-img", "check", imagePath("aws-vmdk"))).toMatch(/No errors/);
  });

  it("makes a Vagrant libvirt box: metadata.json, Vagrantfile, box.img (the qcow2)", async () => {
    const box = imagePath("vagrant-libvirt");
    expect((await tool("tar", "-tzf", box)).split("\n").filter(Boolean).sort()).toEqual(["Vagrantfile", "box.img", "metadata.json"]);
    const dir = join(base, "box");
    await mkdir(dir);
    await tool("tar", "-xzf", box, "-C", dir);
    const metadata = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
    expect(metadata).toEqual({ provider: "libvirt", format: "qcow2", virtual_size: Math.ceil((first.meta.images.qcow2?.["uncompressed-size"] ?? 0) / 1024 ** 3) });
    expect(await readFile(join(dir, "Vagrantfile"), "utf8")).toMatch(/config\.vm\.provider :libvirt do/);
    expect(await sha256(join(dir, "box.img"))).toBe(first.meta.images.qcow2?.sha256);
  });

  it("has the tree's kernel and initramfs in the boot partition with an ostree BLS entry", async () => {
    const bootImg = await partitionImage("boot");
    const entry = await tool("debugfs", "-R", "cat /loader/entries/ostree-1-fedora-atomic.conf", bootImg);
    const linux = /^linux (\S+)$/m.exec(entry)?.[1] ?? "";
    const initrd = /^initrd (\S+)$/m.exec(entry)?.[1] ?? "";
    const bootcsum = /^\/ostree\/fedora-atomic-([0-9a-f]{64})\//.exec(linux)?.[1] ?? "";
    expect(linux).toBe(`/ostree/fedora-atomic-${bootcsum}/vmlinuz-${world.kernel.kver}`);
    expect(initrd).toBe(`/ostree/fedora-atomic-${bootcsum}/initramfs-${world.kernel.kver}.img`);
    expect(entry).toMatch(new RegExp(`^options root=LABEL=root .*ostree=/ostree/boot\\.1/fedora-atomic/${bootcsum}/0$`, "m"));
    const dump = join(base, "bootfs");
    await mkdir(dump);
    await tool("debugfs", "-R", `rdump /ostree ${dump}`, bootImg);
    const kernel = await readFile(join(dump, linux));
    const initramfs = await readFile(join(dump, initrd));
    const tree = join(base, "kernel-from-commit");
    await run("ostree", ["checkout", `--repo=${repo}`, "--user-mode", `--subpath=/usr/lib/modules/${world.kernel.kver}`, composed.commit, tree]);
    expect(createHash("sha256").update(kernel).digest("hex")).toBe(await sha256(join(tree, "vmlinuz")));
    expect(createHash("sha256").update(initramfs).digest("hex")).toBe(await sha256(join(tree, "initramfs.img")));
    // ostree's boot checksum: sha256 over kernel then initramfs.
    expect(createHash("sha256").update(kernel).update(initramfs).digest("hex")).toBe(bootcsum);
  });
});

describe("what was tested is what ships", () => {
  it("the deployment's /usr in the root filesystem, read without mounting, is the commit's /usr", async () => {
    const rootImg = await partitionImage("root");
    const deployment = `/ostree/deploy/fedora-atomic/deploy/${composed.commit}.0`;
    const dump = join(base, "rootfs-usr");
    await mkdir(dump);
    await tool("debugfs", "-R", `rdump ${deployment}/usr ${dump}`, rootImg);
    const image = join(dump, "usr");

    // The commit's own listing: type+mode, uid, gid, size, path (and symlink target).
    const listing = await tool("ostree", "ls", `--repo=${repo}`, "-R", composed.commit, "/usr");
    const expected = new Map<string, { mode: string; uid: number; gid: number; size: number; target?: string }>();
    for (const line of listing.split("\n").filter(Boolean)) {
      const m = /^([-dl])0(\d{4,5}) (\d+) (\d+)\s+(\d+) (\S+)(?: -> (.*))?$/.exec(line);
      if (!m) throw new Error(`unparsed ostree ls line: ${line}`);
      const [, type = "", mode = "", uid = "", gid = "", size = "", path = "", target] = m;
      expected.set(path, { mode: `${type}${mode.padStart(4, "0")}`, uid: Number(uid), gid: Number(gid), size: type === "-" ? Number(size) : 0, ...(target === undefined ? {} : { target }) });
    }

    const checkout = join(base, "usr-from-commit");
    await run("ostree", ["checkout", `--repo=${repo}`, "--user-mode", "--subpath=/usr", composed.commit, checkout]);

    const seen = new Map<string, { mode: string; uid: number; gid: number; size: number; target?: string }>();
    let hashed = 0;
    for (const entry of await readdir(image, { recursive: true, withFileTypes: true })) {
      const abs = join(entry.parentPath, entry.name);
      const rel = `/usr/${relative(image, abs)}`;
      const st = await lstat(abs);
      const type = st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "-";
      const record = { mode: `${type}${(st.mode & 0o7777).toString(8).padStart(4, "0")}`, uid: st.uid, gid: st.gid, size: type === "-" ? st.size : 0 };
      if (type === "l") {
        seen.set(rel, { ...record, mode: "l0777", target: await readlink(abs) });
      } else {
        seen.set(rel, record);
      }
      if (type === "-") {
        expect(await sha256(abs), rel).toBe(await sha256(join(checkout, relative(image, abs))));
        hashed++;
      }
    }
    expected.delete("/usr");
    expect([...seen.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, want] of expected) expect(seen.get(path), path).toEqual(want);
    expect(hashed).toBeGreaterThan(50);
  });

  it("the deployment has /etc from /usr/etc and an origin following the ref", async () => {
    const rootImg = await partitionImage("root");
    const deployment = `/ostree/deploy/fedora-atomic/deploy/${composed.commit}.0`;
    const etc = await tool("debugfs", "-R", `ls -p ${deployment}/etc`, rootImg);
    const usrEtc = await tool("debugfs", "-R", `ls -p ${deployment}/usr/etc`, rootImg);
    const names = (text: string) => text.split("\n").map((l) => l.split("/")[5]).filter((n) => n && n !== "." && n !== "..").sort();
    expect(names(etc)).toEqual(names(usrEtc));
    expect(await tool("debugfs", "-R", `cat ${deployment}.origin`, rootImg)).toBe(`[origin]\nrefspec=${composed.ref}\n`);
    const repoConfig = await tool("debugfs", "-R", "cat /ostree/repo/config", rootImg);
    expect(repoConfig).toMatch(/mode=bare-user-only/);
    expect(await tool("debugfs", "-R", `cat /ostree/repo/refs/heads/${composed.ref}`, rootImg)).toBe(`${composed.commit}\n`);
  });
});
