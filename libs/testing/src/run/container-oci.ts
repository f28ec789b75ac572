// Reading and verifying an OCI image layout (image-spec v1.0/1.1): `oci-layout`, `index.json`,
// then the chosen manifest, its config and its layers, every blob checked against its
// descriptor's size and sha256 before its content is trusted. Nothing here runs a tool: a
// layout is files, and a key image that is invalid fails its test with the problem named.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readFile, realpath } from "node:fs/promises";
import { join, relative, sep, isAbsolute } from "node:path";
import { z } from "zod";

export const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;
export const REF_ANNOTATION = "org.opencontainers.image.ref.name";
/** index.json, manifests and configs are small documents; a larger one is refused before it is parsed. */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

/** The image is not a valid, runnable OCI image: a verdict about the image, so its test fails. */
export class ImageError extends Error {
  readonly code = "IMAGE_INVALID" as const;
  constructor(
    /** Which check refused it: `layout` (files, digests, documents), `unpack` (layers), `config` (how to run it). */
    readonly stage: "layout" | "unpack" | "config",
    message: string,
  ) {
    super(message);
    this.name = "ImageError";
  }
}

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, "must be sha256:<64 lowercase hex digits> (other algorithms are not supported)");
// The spec says unknown fields are ignored: loose objects, known fields checked.
const descriptor = z.looseObject({
  mediaType: z.string().min(1),
  digest,
  size: z.int().min(0),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z.looseObject({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).optional(),
});
export type Descriptor = z.output<typeof descriptor>;

const layoutFile = z.looseObject({ imageLayoutVersion: z.string().regex(/^1\.\d+\.\d+$/, "must be a 1.x.y version") });
const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA.index).optional(),
  manifests: z.array(descriptor),
});
const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA.manifest).optional(),
  config: descriptor.extend({ mediaType: z.literal(MEDIA.config) }),
  layers: z.array(descriptor),
});
const configSchema = z.looseObject({
  architecture: z.string().min(1),
  os: z.string().min(1),
  config: z
    .looseObject({
      User: z.string().optional(),
      Env: z.array(z.string().regex(/^[^=\0]+=[^\0]*$/, "must be NAME=value")).nullish(),
      Entrypoint: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
      WorkingDir: z.string().optional(),
    })
    .optional(),
  rootfs: z.looseObject({ type: z.literal("layers"), diff_ids: z.array(digest) }),
});
export type ImageConfig = z.output<typeof configSchema>;

export interface VerifiedLayer {
  digest: string;
  size: number;
  mediaType: string;
  /** Path of the verified blob. */
  path: string;
  /** sha256 of the uncompressed tar, from the config (checked when the layer is unpacked). */
  diffId: string;
}

export interface VerifiedImage {
  layoutDir: string;
  manifestDigest: string;
  config: ImageConfig;
  configDigest: string;
  layers: VerifiedLayer[];
}

export interface ImageSelector {
  ref?: string;
  digest?: string;
  /** OCI platform the image must be for; default linux and this machine's architecture. */
  platform?: { os: string; architecture: string };
}

/** This machine's architecture in OCI's (Go's) spelling. */
export function ociArchitecture(arch: string = process.arch): string {
  return ({ x64: "amd64", arm64: "arm64", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", ia32: "386" } as Record<string, string>)[arch] ?? arch;
}

/**
 * Verify the layout at `layoutDir` (which must be inside `store` once symlinks are resolved)
 * and select one image: by `ref` (the ref.name annotation), by manifest `digest`, or the only
 * one. Every blob reached (nested indexes, manifest, config, layers) is checked.
 */
export async function verifyLayout(store: string, layoutDir: string, select: ImageSelector = {}): Promise<VerifiedImage> {
  const realStore = await realpath(store);
  let real: string;
  try {
    real = await realpath(layoutDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ImageError("layout", `layout ${JSON.stringify(relative(store, layoutDir))} does not exist in the image store`);
    throw err;
  }
  const rel = relative(realStore, real);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new ImageError("layout", `layout ${JSON.stringify(relative(store, layoutDir))} resolves outside the image store`);

  const version = parseDoc(layoutFile, await readDocument(real, "oci-layout"), "oci-layout");
  if (!version.imageLayoutVersion.startsWith("1.")) throw new ImageError("layout", `oci-layout: unsupported imageLayoutVersion ${version.imageLayoutVersion}`);
  const index = parseDoc(indexSchema, await readDocument(real, "index.json"), "index.json");
  const platform = select.platform ?? { os: "linux", architecture: ociArchitecture() };

  let candidates = index.manifests;
  if (select.ref !== undefined) candidates = candidates.filter((d) => d.annotations?.[REF_ANNOTATION] === select.ref);
  if (select.digest !== undefined) candidates = candidates.filter((d) => d.digest === select.digest);
  const shown = (): string => index.manifests.map((d) => d.annotations?.[REF_ANNOTATION] ?? d.digest).join(", ") || "nothing";
  if (candidates.length === 0) {
    const what = [select.ref !== undefined ? `ref ${JSON.stringify(select.ref)}` : "", select.digest !== undefined ? `digest ${select.digest}` : ""].filter(Boolean).join(" and ");
    throw new ImageError("layout", `index.json: no image with ${what} (it lists ${shown()})`);
  }
  if (candidates.length > 1) candidates = candidates.filter((d) => matchesPlatform(d, platform));
  if (candidates.length !== 1) throw new ImageError("layout", `index.json: ${candidates.length === 0 ? "no" : "more than one"} image matches (name a ref or a digest; it lists ${shown()})`);
  let chosen = candidates[0] as Descriptor;

  // A multi-platform image: its index names one manifest per platform.
  for (let depth = 0; chosen.mediaType === MEDIA.index; depth++) {
    if (depth >= 4) throw new ImageError("layout", "image indexes nested too deep");
    const nested = parseDoc(indexSchema, await readBlobDocument(real, chosen), `index ${chosen.digest}`);
    const forUs = nested.manifests.filter((d) => matchesPlatform(d, platform));
    if (forUs.length !== 1) throw new ImageError("layout", `index ${chosen.digest}: ${forUs.length} manifests for ${platform.os}/${platform.architecture}`);
    chosen = forUs[0] as Descriptor;
  }
  if (chosen.mediaType !== MEDIA.manifest) throw new ImageError("layout", `${chosen.digest}: media type ${JSON.stringify(chosen.mediaType)} is not an OCI image manifest`);
  const manifest = parseDoc(manifestSchema, await readBlobDocument(real, chosen), `manifest ${chosen.digest}`);
  const config = parseDoc(configSchema, await readBlobDocument(real, manifest.config), `config ${manifest.config.digest}`);
  if (config.os !== platform.os || config.architecture !== platform.architecture) {
    throw new ImageError("layout", `config ${manifest.config.digest}: the image is for ${config.os}/${config.architecture}, the host runs ${platform.os}/${platform.architecture}`);
  }
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new ImageError("layout", `config ${manifest.config.digest}: rootfs.diff_ids has ${config.rootfs.diff_ids.length} entries for ${manifest.layers.length} layers`);
  }
  const layers: VerifiedLayer[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    if (layer.mediaType !== MEDIA.layerTar && layer.mediaType !== MEDIA.layerGzip) {
      throw new ImageError("layout", `layer ${i + 1} (${layer.digest}): media type ${JSON.stringify(layer.mediaType)} is not supported (only ${MEDIA.layerTar} and +gzip)`);
    }
    const path = await verifyBlob(real, layer);
    layers.push({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType, path, diffId: config.rootfs.diff_ids[i] as string });
  }
  return { layoutDir: real, manifestDigest: chosen.digest, config, configDigest: manifest.config.digest, layers };
}

function matchesPlatform(d: Descriptor, platform: { os: string; architecture: string }): boolean {
  return d.platform !== undefined && d.platform.os === platform.os && d.platform.architecture === platform.architecture;
}

/** `blobs/<algorithm>/<hex>`: built from a validated digest, so it cannot leave the layout. */
export function blobPath(layout: string, digestText: string): string {
  const [algorithm = "", hex = ""] = digestText.split(":");
  return join(layout, "blobs", algorithm, hex);
}

/** Check a blob's size and sha256 against its descriptor; returns its path. */
export async function verifyBlob(layout: string, d: Pick<Descriptor, "digest" | "size">): Promise<string> {
  const path = blobPath(layout, d.digest);
  const info = await regularFile(path, `blob ${d.digest}`);
  if (info.size !== d.size) throw new ImageError("layout", `blob ${d.digest}: size ${info.size} bytes, the descriptor says ${d.size}`);
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const actual = `sha256:${hash.digest("hex")}`;
  if (actual !== d.digest) throw new ImageError("layout", `blob ${d.digest}: content has digest ${actual} (tampered or corrupt)`);
  return path;
}

async function readBlobDocument(layout: string, d: Descriptor): Promise<unknown> {
  if (d.size > MAX_DOCUMENT_BYTES) throw new ImageError("layout", `blob ${d.digest}: ${d.size} bytes is too large for a ${d.mediaType} document`);
  const path = await verifyBlob(layout, d);
  return parseJson(await readFile(path, "utf8"), `blob ${d.digest}`);
}

async function readDocument(layout: string, name: string): Promise<unknown> {
  const path = join(layout, name);
  const info = await regularFile(path, name);
  if (info.size > MAX_DOCUMENT_BYTES) throw new ImageError("layout", `${name}: ${info.size} bytes is too large`);
  return parseJson(await readFile(path, "utf8"), name);
}

/** lstat, not stat: a blob that is a symlink could point anywhere, so it is refused. */
async function regularFile(path: string, what: string): Promise<{ size: number }> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ImageError("layout", `${what}: missing`);
    throw err;
  }
  if (!info.isFile()) throw new ImageError("layout", `${what}: not a regular file${info.isSymbolicLink() ? " (a symbolic link)" : ""}`);
  return { size: info.size };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ImageError("layout", `${what}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function parseDoc<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ImageError("layout", `${what}: ${issue?.path.join(".") || "(document)"}: ${issue?.message ?? "invalid"}`);
}
