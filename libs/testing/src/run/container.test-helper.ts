// Test helpers: a small ustar writer (so tests can make the archives real tools refuse to make:
// `../` entries, writes through symlinks) and an OCI layout writer around it.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export interface TarEntry {
  name: string;
  /** `0` file (default), `1` hard link, `2` symlink, `5` directory, `3` char device, `x` pax header. */
  type?: string;
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export function tar(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.content ?? "");
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, "utf8");
    header.write(`${(entry.mode ?? (entry.type === "5" ? 0o755 : 0o644)).toString(8).padStart(7, "0")}\0`, 100, "latin1");
    header.write("0000000\0", 108, "latin1");
    header.write("0000000\0", 116, "latin1");
    header.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124, "latin1");
    header.write(`${(1_700_000_000).toString(8).padStart(11, "0")}\0`, 136, "latin1");
    header.write(entry.type ?? "0", 156, "latin1");
    header.write(entry.linkname ?? "", 157, 100, "utf8");
    header.write("ustar\0", 257, "latin1");
    header.write("00", 263, "latin1");
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A pax extended header record set, as the entry before the one it describes. */
export function pax(records: Record<string, string>): TarEntry {
  let text = "";
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (`${length}${body}`.length !== length) length++;
    text += `${length}${body}`;
  }
  return { name: "PaxHeaders/x", type: "x", content: text };
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface LayoutOptions {
  ref?: string;
  gzip?: boolean;
  config?: Record<string, unknown>;
  architecture?: string;
}

/** Write an OCI layout of `layers` (uncompressed tars); returns the digests written. */
export async function writeLayout(dir: string, layers: readonly Buffer[], options: LayoutOptions = {}): Promise<{ manifest: string; config: string; layers: string[] }> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer) => {
    const digest = sha256(bytes);
    await writeFile(join(blobs, digest.slice(7)), bytes);
    return { digest, size: bytes.length };
  };
  const gzip = options.gzip ?? true;
  const layerBlobs = [];
  for (const layer of layers) layerBlobs.push(await put(gzip ? gzipSync(layer) : layer));
  const config = await put(
    Buffer.from(
      JSON.stringify({
        architecture: options.architecture ?? "amd64",
        os: "linux",
        config: options.config ?? { Cmd: ["/bin/true"] },
        rootfs: { type: "layers", diff_ids: layers.map((l) => sha256(l)) },
      }),
    ),
  );
  const manifest = await put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: layerBlobs.map((b) => ({ mediaType: `application/vnd.oci.image.layer.v1.tar${gzip ? "+gzip" : ""}`, ...b })),
      }),
    ),
  );
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": options.ref ?? "latest" } }] }),
  );
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return { manifest: manifest.digest, config: config.digest, layers: layerBlobs.map((b) => b.digest) };
}
