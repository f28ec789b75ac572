// promote: deliver one compose commit (and its images) to a stream of the public tree.
// Order (docs/publishing.md): pull-local → sign the commit → static delta → images → move the
// ref → signed `ostree summary -u` (the last ostree step: a reader that sees the ref sees its
// objects) → release.json, stream metadata, updates → releases.json, the release record,
// written last. Everything runs under one lock per public tree; a (stream, version) already
// in releases.json is not promoted again.
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import type { ToolContext } from "@atomic-ci/tools";
import { lockDir, readJson, sha256File, writeJsonAtomic } from "./files.js";
import {
  lastModified,
  layout,
  ReleaseJson,
  ReleasesIndex,
  StreamMetadata,
  UpdatesJson,
  type Formats,
  type UpdateMetadata,
} from "./metadata.js";
import { compressInPlace, detachSign, ostree, pickCompression, refBindings, revParse, type Compression, type GpgKey } from "./tools.js";

export const GENERATOR = "atomic-ci publish 0.1.0";

/** Image key in meta.json → Fedora CoreOS platform and format. `compress: false` for formats that already are (a .box is a gzipped tar). */
export const IMAGE_PLATFORMS: Readonly<Record<string, { platform: string; format: string; compress: boolean }>> = {
  qcow2: { platform: "qemu", format: "qcow2", compress: true },
  "aws-vmdk": { platform: "aws", format: "vmdk", compress: true },
  raw: { platform: "metal", format: "raw", compress: true },
  "vagrant-libvirt": { platform: "vagrant-libvirt", format: "box", compress: false },
};

/** The parts of a coreos-assembler shaped meta.json (from @atomic-ci/images) that promotion reads. */
export const PublishableMeta = z.looseObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  "ostree-commit": z.string().regex(/^[0-9a-f]{64}$/),
  images: z.record(z.string(), z.looseObject({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const COMMIT = /^[0-9a-f]{64}$/;

export interface Rollout {
  start_epoch: number;
  start_percentage: number;
  duration_minutes?: number;
}

export interface PromoteOptions {
  /** The pipeline's repository holding the compose commit. */
  pipelineRepo: string;
  commit: string;
  /** The public archive repository (made with `ostree init --mode=archive` when missing). */
  publicRepo: string;
  /** The public tree: streams/, updates/, prod/ (and usually the repository). */
  publicDir: string;
  stream: string;
  /**
   * The public ref; default the commit's single ref binding (required when it has none). When
   * the commit has bindings the ref must be one of them: clients refuse a commit not bound to
   * the ref they pull.
   */
  ref?: string;
  version: string;
  arch?: string;
  gpg: GpgKey;
  /** A coreos-assembler shaped meta.json; its images are published. Its `ostree-commit` must be `commit`. */
  metaJson?: string;
  /** Which image keys of meta.json to publish (default: all). */
  images?: readonly string[];
  /** Prefix of `location`, `signature` and the releases.json `metadata` URLs; default paths relative to publicDir. */
  baseUrl?: string;
  /** xz (or gzip) level, 0-9; default 6, xz's own default. */
  compressionLevel?: number;
  /** Staged rollout recorded in updates/<stream>.json. */
  rollout?: Rollout;
  now?: Date;
  /** Lock and scratch space; default `<publicDir>/.atomic-ci`. */
  stateDir?: string;
  lockTimeoutMs?: number;
}

export interface PromoteResult {
  /** `already-promoted`: this (stream, version) was in releases.json with this commit; nothing was done. */
  type: "promoted" | "already-promoted";
  stream: string;
  version: string;
  commit: string;
  ref: string;
  /** The commit the static delta starts from; "empty" for the first release. */
  deltaFrom?: string;
  /** platform → formats, as in release.json. */
  media: Record<string, { artifacts: Formats }>;
  timings: Record<string, number>;
}

export class PromotionConflictError extends Error {
  constructor(stream: string, version: string, existing: string, commit: string) {
    super(`${stream} ${version} was already released with commit ${existing}, not ${commit}: a version is released once`);
    this.name = "PromotionConflictError";
  }
}

export function url(baseUrl: string | undefined, rel: string): string {
  if (baseUrl === undefined) return rel;
  return new URL(rel, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).href;
}

function check(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new Error(`promote: ${what} ${JSON.stringify(value)} is not valid`);
  return value;
}

export async function promote(options: PromoteOptions, ctx: ToolContext): Promise<PromoteResult> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  let mark = started;
  const step = (name: string) => {
    const t = Date.now();
    timings[name] = t - mark;
    mark = t;
  };
  const stream = check(options.stream, NAME, "stream");
  const version = check(options.version, NAME, "version");
  const commit = check(options.commit, COMMIT, "commit");
  const arch = check(options.arch ?? "x86_64", NAME, "arch");
  const now = options.now ?? new Date();
  const { publicDir, publicRepo, gpg } = options;
  const stateDir = options.stateDir ?? join(publicDir, ".atomic-ci");

  const unlock = await lockDir(join(stateDir, "publish.lock"), { timeoutMs: options.lockTimeoutMs });
  try {
    step("lock");
    // Re-check under the lock: a concurrent publisher may have released it while we waited.
    const releasesPath = join(publicDir, layout.releases(stream));
    const index = await readJson(releasesPath, ReleasesIndex);
    const existing = index?.releases.find((r) => r.version === version);
    if (existing) {
      const had = existing.commits.find((c) => c.architecture === arch)?.checksum;
      if (had !== commit) throw new PromotionConflictError(stream, version, had ?? "(none)", commit);
      const release = await readJson(join(publicDir, layout.release(stream, version)), ReleaseJson);
      const ref = options.ref ?? (await singleBinding(ctx, publicRepo, commit, "promote"));
      return { type: "already-promoted", stream, version, commit, ref, media: release?.architectures[arch]?.media ?? {}, timings };
    }

    if (!existsSync(join(publicRepo, "config"))) {
      await mkdir(publicRepo, { recursive: true });
      await ostree(ctx, publicRepo, "init", "--mode=archive");
    }
    await ostree(ctx, publicRepo, "pull-local", pipelineRepoArg(options.pipelineRepo), commit);
    step("pullLocal");

    const bindings = await refBindings(ctx, publicRepo, commit);
    const ref = options.ref ?? (await singleBinding(ctx, publicRepo, commit, "promote"));
    if (bindings.length > 0 && !bindings.includes(ref)) {
      throw new Error(`promote: commit ${commit} is bound to ${bindings.join(", ")}, not ${ref}: clients pulling ${ref} would refuse it`);
    }

    // Sign before the delta: a static delta's superblock carries the commit's detached metadata.
    await ostree(ctx, publicRepo, "gpg-sign", `--gpg-homedir=${gpg.homedir}`, commit, gpg.keyId);
    step("sign");

    const previous = await revParse(ctx, publicRepo, ref);
    let deltaFrom: string | undefined;
    if (previous !== commit) {
      deltaFrom = previous ?? "empty";
      const from = previous === undefined ? ["--empty"] : [`--from=${previous}`];
      await ostree(ctx, publicRepo, "static-delta", "generate", ...from, `--to=${commit}`);
    }
    step("delta");

    const media = options.metaJson === undefined ? {} : await publishImages(options, { stream, version, arch, commit }, ctx);
    step("images");

    await ostree(ctx, publicRepo, "refs", `--create=${ref}`, "--force", commit);
    await ostree(ctx, publicRepo, "summary", "-u", `--gpg-sign=${gpg.keyId}`, `--gpg-homedir=${gpg.homedir}`);
    step("refAndSummary");

    const modified = lastModified(now);
    const releaseRel = layout.release(stream, version);
    const release: ReleaseJson = { release: version, stream, metadata: { "last-modified": modified }, architectures: { [arch]: { commit, media } } };
    await writeJsonAtomic(join(publicDir, releaseRel), release);
    await writeStreamMetadata(publicDir, stream, arch, version, media, modified);
    if (options.rollout) await setUpdate(publicDir, stream, version, { rollout: options.rollout }, modified);

    // The release record, last: until it is written the release does not exist, and a re-run redoes it all.
    const next: ReleasesIndex = {
      stream,
      metadata: { "last-modified": modified },
      releases: [...(index?.releases ?? []), { commits: [{ architecture: arch, checksum: commit }], version, metadata: url(options.baseUrl, releaseRel) }],
    };
    await writeJsonAtomic(releasesPath, next);
    step("metadata");
    timings.total = Date.now() - started;
    return { type: "promoted", stream, version, commit, ref, deltaFrom, media, timings };
  } finally {
    await unlock();
  }
}

function pipelineRepoArg(repo: string): string {
  if (repo.startsWith("-")) throw new Error(`promote: pipeline repository ${repo} starts with '-'`);
  return repo;
}

/** The commit's one ref binding: the default public ref when the caller names none. */
export async function singleBinding(ctx: ToolContext, repo: string, commit: string, who: string): Promise<string> {
  const bindings = await refBindings(ctx, repo, commit);
  const [only] = bindings;
  if (only === undefined || bindings.length > 1) throw new Error(`${who}: commit ${commit} has ${bindings.length} ref bindings; pass ref`);
  return only;
}

/** Compress, checksum and sign each image into `prod/streams/<stream>/builds/<version>/<arch>/`. */
async function publishImages(
  options: PromoteOptions,
  release: { stream: string; version: string; arch: string; commit: string },
  ctx: ToolContext,
): Promise<Record<string, { artifacts: Formats }>> {
  const metaPath = options.metaJson ?? "";
  const meta = PublishableMeta.parse(JSON.parse(await readFile(metaPath, "utf8")));
  if (meta["ostree-commit"] !== release.commit) {
    throw new Error(`promote: ${basename(metaPath)} describes commit ${meta["ostree-commit"]}, not ${release.commit}: these images were not built from what is released`);
  }
  const keys = options.images ?? Object.keys(meta.images);
  const compression: Compression = await pickCompression(ctx);
  const archRel = `${layout.buildDir(release.stream, release.version)}/${release.arch}`;
  const finalDir = join(options.publicDir, archRel);
  const tmpDir = `${finalDir}.tmp-${process.pid}`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  const media: Record<string, { artifacts: Formats }> = {};
  try {
    for (const key of keys) {
      const entry = meta.images[key];
      const target = IMAGE_PLATFORMS[key];
      if (!entry) throw new Error(`promote: ${basename(metaPath)} has no image ${key}`);
      if (!target) throw new Error(`promote: no platform known for image ${key}`);
      const source = join(dirname(metaPath), entry.path);
      const uncompressed = await sha256File(source);
      if (uncompressed !== entry.sha256) throw new Error(`promote: ${entry.path} has sha256 ${uncompressed}, meta.json says ${entry.sha256}`);
      const plain = join(tmpDir, `${meta.name}-${release.version}-${target.platform}.${release.arch}.${target.format}`);
      await copyFile(source, plain);
      const file = target.compress ? await compressInPlace(ctx, compression, plain, options.compressionLevel) : plain;
      await detachSign(ctx, options.gpg, file);
      const location = url(options.baseUrl, `${archRel}/${basename(file)}`);
      const format = target.compress ? `${target.format}.${compression}` : target.format;
      const disk = {
        location,
        signature: `${location}.sig`,
        sha256: await sha256File(file),
        ...(target.compress ? { "uncompressed-sha256": uncompressed } : {}),
      };
      (media[target.platform] ??= { artifacts: {} }).artifacts[format] = { disk };
    }
    // A directory left by a crashed attempt is replaced: the release record was never written.
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmpDir, finalDir);
    return media;
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
}

/** streams/<stream>.json: this architecture now points at `version`'s artifacts. */
export async function writeStreamMetadata(
  publicDir: string,
  stream: string,
  arch: string,
  version: string,
  media: Record<string, { artifacts: Formats }>,
  modified: string,
): Promise<void> {
  const path = join(publicDir, layout.stream(stream));
  const current = await readJson(path, StreamMetadata);
  const artifacts: StreamMetadata["architectures"][string]["artifacts"] = {};
  for (const [platform, { artifacts: formats }] of Object.entries(media)) artifacts[platform] = { release: version, formats };
  const next: StreamMetadata = {
    stream,
    metadata: { "last-modified": modified, generator: GENERATOR },
    architectures: { ...(current?.architectures ?? {}), [arch]: { artifacts, images: {} } },
  };
  await writeJsonAtomic(path, next);
}

/** Merge `metadata` into `version`'s entry of updates/<stream>.json (appended when new). */
export async function setUpdate(publicDir: string, stream: string, version: string, metadata: UpdateMetadata, modified: string): Promise<void> {
  const path = join(publicDir, layout.updates(stream));
  const current = (await readJson(path, UpdatesJson)) ?? { stream, metadata: { "last-modified": modified }, releases: [] };
  const releases = [...current.releases];
  const at = releases.findIndex((r) => r.version === version);
  if (at >= 0) releases[at] = { version, metadata: { ...releases[at]?.metadata, ...metadata } };
  else releases.push({ version, metadata });
  await writeJsonAtomic(path, { stream, metadata: { "last-modified": modified }, releases } satisfies UpdatesJson);
}
