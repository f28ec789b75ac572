// buildImages: from a compose commit to qcow2, Vagrant libvirt box, AWS vmdk (and raw), with a
// coreos-assembler shaped meta.json. Outputs are content-addressed: each format lands in
// `<outDir>/<commit>/<key>/<format>/`, renamed into place when complete, so a second build of
// the same commit and format finds it and does nothing.
import { lstat, link, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { ToolContext } from "@atomic-ci/tools";
import { LINUX_FILESYSTEM_GUID, LINUX_ROOT_X86_64_GUID, makeRawDisk, type RawDisk } from "./disk.js";
import { buildSysroot, DEFAULT_KARGS, type Sysroot } from "./sysroot.js";
import { ostree, run, sha256File, sha256Hex } from "./tools.js";

/** Bumped whenever the bytes an unchanged commit produces would change: part of the output key. */
export const IMAGE_BUILDER_VERSION = 1;

export const IMAGE_FORMATS = ["qcow2", "vagrant-libvirt", "aws-vmdk", "raw"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
export const DEFAULT_FORMATS: readonly ImageFormat[] = ["qcow2", "vagrant-libvirt", "aws-vmdk"];

export const IMAGE_STEPS = ["sysroot", "disk", "qcow2", "vagrant-libvirt", "aws-vmdk", "raw", "meta"] as const;
export type ImageStep = (typeof IMAGE_STEPS)[number];

export const ImageEntry = z.object({
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  "uncompressed-sha256": z.string().regex(/^[0-9a-f]{64}$/).optional(),
  "uncompressed-size": z.number().int().nonnegative().optional(),
});
export type ImageEntry = z.output<typeof ImageEntry>;

export const BuildMeta = z.looseObject({
  buildid: z.string(),
  name: z.string(),
  "ostree-commit": z.string(),
  "ostree-version": z.string(),
  "ostree-timestamp": z.string().optional(),
  ref: z.string(),
  "coreos-assembler.basearch": z.string(),
  "atomic-ci.image-builder-version": z.number(),
  images: z.record(z.string(), ImageEntry),
});
export type BuildMeta = z.output<typeof BuildMeta>;

export interface BuildImagesOptions {
  /** The compose's OSTree repository. */
  repo: string;
  commit: string;
  ref: string;
  formats?: readonly ImageFormat[];
  /** Content-addressed output root. */
  outDir: string;
  /** Scratch space (the sysroot and the raw disk), removed afterwards. */
  workDir: string;
  /** Stateroot, and `name` in meta.json / file names. */
  osname?: string;
  name?: string;
  kargs?: readonly string[];
  basearch?: string;
  onProgress?: (step: ImageStep, detail: string) => void;
}

export interface BuiltImages {
  /** `<outDir>/<commit>/<key>`: meta.json and one directory per format. */
  dir: string;
  metaPath: string;
  meta: BuildMeta;
  /** Formats made by this call; the others were already there. */
  built: ImageFormat[];
  reused: ImageFormat[];
  /** Step → milliseconds for the steps that ran. */
  timings: Record<string, number>;
}

const ENTRY_FILE = "image.json";

export async function buildImages(opts: BuildImagesOptions, ctx: ToolContext): Promise<BuiltImages> {
  const formats = [...new Set(opts.formats ?? DEFAULT_FORMATS)];
  const osname = opts.osname ?? "fedora-atomic";
  const name = opts.name ?? "fedora-atomic-host";
  const basearch = opts.basearch ?? "x86_64";
  const kargs = opts.kargs ?? DEFAULT_KARGS;
  const key = `v${IMAGE_BUILDER_VERSION}-${sha256Hex(JSON.stringify({ osname, name, basearch, kargs })).slice(0, 12)}`;
  const dir = join(opts.outDir, opts.commit, key);
  await mkdir(dir, { recursive: true });
  const timings: Record<string, number> = {};
  const progress = opts.onProgress ?? (() => undefined);
  const timed = async <T>(step: ImageStep, detail: string, fn: () => Promise<T>): Promise<T> => {
    progress(step, detail);
    const start = performance.now();
    try {
      return await fn();
    } finally {
      timings[step] = Math.round(performance.now() - start);
    }
  };

  const version = await commitVersion(opts.repo, opts.commit, ctx);
  const missing: ImageFormat[] = [];
  for (const format of formats) if (!(await exists(join(dir, format, ENTRY_FILE)))) missing.push(format);

  if (missing.length > 0) {
    await mkdir(opts.workDir, { recursive: true });
    const work = await mkdtemp(join(opts.workDir, `image-${opts.commit.slice(0, 12)}-`));
    try {
      const sysroot: Sysroot = await timed("sysroot", "ostree init-fs, os-init, pull-local, deployment", () =>
        buildSysroot({ repo: opts.repo, commit: opts.commit, ref: opts.ref, osname, kargs, dir: join(work, "sysroot") }, ctx),
      );
      const disk: RawDisk = await timed("disk", "mkfs.ext4 -d boot and root, sfdisk GPT", () =>
        makeRawDisk(
          join(work, "disk.raw"),
          [
            { label: "boot", dir: sysroot.boot, typeGuid: LINUX_FILESYSTEM_GUID },
            { label: "root", dir: sysroot.root, typeGuid: LINUX_ROOT_X86_64_GUID },
          ],
          `${opts.commit}:${key}`,
          join(work, "part"),
          ctx,
        ),
      );
      // The raw disk is read once for its checksum: every format's "uncompressed" form.
      const rawSum = await sha256File(disk.path);
      const base = `${name}-${version}`;
      for (const format of missing) {
        await timed(format, `${format} from the raw disk`, () => makeFormat(format, { work, disk, rawSum, base, basearch, dir }, ctx));
      }
      await rm(join(work, "sysroot"), { recursive: true, force: true });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  const meta = await timed("meta", "meta.json", async () => {
    const images: Record<string, ImageEntry> = {};
    for (const entry of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith(".")).sort((a, b) => a.name.localeCompare(b.name))) {
      const text = await readFile(join(dir, entry.name, ENTRY_FILE), "utf8").catch(() => undefined);
      if (text !== undefined) images[entry.name] = ImageEntry.parse(JSON.parse(text));
    }
    const timestamp = await commitTimestamp(opts.repo, opts.commit, ctx);
    return BuildMeta.parse({
      buildid: version,
      name,
      "ostree-commit": opts.commit,
      "ostree-version": version,
      ...(timestamp ? { "ostree-timestamp": timestamp } : {}),
      ref: opts.ref,
      "coreos-assembler.basearch": basearch,
      "atomic-ci.image-builder-version": IMAGE_BUILDER_VERSION,
      images,
    });
  });
  const metaPath = join(dir, "meta.json");
  const text = `${JSON.stringify(meta, null, 2)}\n`;
  if ((await readFile(metaPath, "utf8").catch(() => undefined)) !== text) {
    const tmp = `${metaPath}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, text);
    await rename(tmp, metaPath);
  }
  return { dir, metaPath, meta, built: missing, reused: formats.filter((f) => !missing.includes(f)), timings };
}

interface FormatInput {
  work: string;
  disk: RawDisk;
  rawSum: { sha256: string; size: number };
  base: string;
  basearch: string;
  dir: string;
}

const FILE_NAMES: Record<ImageFormat, (base: string, arch: string) => string> = {
  qcow2: (b, a) => `${b}-qemu.${a}.qcow2`,
  "vagrant-libvirt": (b, a) => `${b}-vagrant-libvirt.${a}.box`,
  "aws-vmdk": (b, a) => `${b}-aws.${a}.vmdk`,
  raw: (b, a) => `${b}-metal.${a}.raw`,
};

/** Builds one format into a staging directory and renames it into `<dir>/<format>`. */
async function makeFormat(format: ImageFormat, input: FormatInput, ctx: ToolContext): Promise<void> {
  const staging = await mkdtemp(join(input.dir, `.tmp-${format}-`));
  try {
    const file = FILE_NAMES[format](input.base, input.basearch);
    const out = join(staging, file);
    let uncompressed: { sha256: string; size: number } | undefined = input.rawSum;
    if (format === "qcow2") {
      await run("qemu-img", ["convert", "-c", "-f", "raw", "-O", "qcow2", input.disk.path, out], ctx);
    } else if (format === "aws-vmdk") {
      await run("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", "-o", "adapter_type=lsilogic,subformat=streamOptimized,compat6", input.disk.path, out], ctx);
    } else if (format === "raw") {
      await run("cp", ["--sparse=always", "--", input.disk.path, out], ctx);
      uncompressed = undefined;
    } else {
      uncompressed = await vagrantBox(input, out, ctx);
    }
    const sum = await sha256File(out);
    const entry: ImageEntry = {
      path: join(format, file),
      sha256: sum.sha256,
      size: sum.size,
      ...(uncompressed ? { "uncompressed-sha256": uncompressed.sha256, "uncompressed-size": uncompressed.size } : {}),
    };
    await writeFile(join(staging, ENTRY_FILE), `${JSON.stringify(entry, null, 2)}\n`);
    try {
      await rename(staging, join(input.dir, format));
    } catch (err) {
      // Another builder finished the same format first: theirs stands (same commit, same key).
      if (!(await exists(join(input.dir, format, ENTRY_FILE)))) throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** A libvirt Vagrant box: gzipped tar of metadata.json, Vagrantfile and box.img (the qcow2). Returns the tar's checksum. */
async function vagrantBox(input: FormatInput, out: string, ctx: ToolContext): Promise<{ sha256: string; size: number }> {
  const boxDir = join(input.work, "vagrant-libvirt");
  await mkdir(boxDir, { recursive: true });
  const qcow2 = join(input.dir, "qcow2", FILE_NAMES.qcow2(input.base, input.basearch));
  if (await exists(qcow2)) await link(qcow2, join(boxDir, "box.img"));
  else await run("qemu-img", ["convert", "-c", "-f", "raw", "-O", "qcow2", input.disk.path, join(boxDir, "box.img")], ctx);
  const virtualSize = Math.ceil(input.disk.size / 1024 ** 3);
  await writeFile(join(boxDir, "metadata.json"), `${JSON.stringify({ provider: "libvirt", format: "qcow2", virtual_size: virtualSize })}\n`);
  await writeFile(join(boxDir, "Vagrantfile"), VAGRANTFILE);
  const tar = join(input.work, "box.tar");
  await run("tar", ["-C", boxDir, "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", tar, "metadata.json", "Vagrantfile", "box.img"], ctx);
  const sum = await sha256File(tar);
  await run("gzip", ["-n", "-f", tar], ctx);
  await rename(`${tar}.gz`, out);
  return sum;
}

export const VAGRANTFILE = `# Vagrant box of Fedora Atomic Host (libvirt provider), built by atomic-ci's image-builder.
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "kvm"
    libvirt.memory = 1024
    libvirt.cpus = 1
    libvirt.disk_bus = "virtio"
  end
end
`;

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function commitVersion(repo: string, commit: string, ctx: ToolContext): Promise<string> {
  const out = await ostree(ctx, "show", `--repo=${repo}`, "--print-metadata-key=version", commit).catch(() => undefined);
  return /^'([^']+)'$/.exec(out?.stdout.trim() ?? "")?.[1] ?? commit.slice(0, 12);
}

async function commitTimestamp(repo: string, commit: string, ctx: ToolContext): Promise<string | undefined> {
  const out = await ostree(ctx, "log", `--repo=${repo}`, commit).catch(() => undefined);
  const date = /^Date:\s+(.+)$/m.exec(out?.stdout ?? "")?.[1]?.trim();
  if (!date) return undefined;
  const parsed = new Date(date.replace(/^(\S+) (\S+) \+0000$/, "$1T$2Z"));
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString().replace(/\.\d{3}Z$/, "Z");
}
