// Which RPMs a Koji build put in the candidates repository. A change set names builds
// (source NVRs); the compose engine wants binary NEVRAs. Koji-built RPMs record their source
// RPM, so the repository's primary metadata answers: every package whose `sourcerpm` is
// `<nvr>.src.rpm`. Reading repodata directly (not `dnf repoquery`) keeps this to
// milliseconds and needs no dnf cache.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

export interface PrimaryPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  sourcerpm: string;
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

function element(block: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(block)?.[1]?.trim();
}

/** The packages of a primary.xml (only the fields needed here). */
export function parsePrimary(xml: string): PrimaryPackage[] {
  const packages: PrimaryPackage[] = [];
  for (const match of xml.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)) {
    const block = match[1] ?? "";
    const version = /<version\s[^>]*>/.exec(block)?.[0] ?? "";
    const name = element(block, "name");
    const arch = element(block, "arch");
    const ver = attr(version, "ver");
    const rel = attr(version, "rel");
    if (!name || !arch || !ver || !rel) continue;
    packages.push({ name, arch, version: ver, release: rel, epoch: Number(attr(version, "epoch") ?? "0"), sourcerpm: element(block, "rpm:sourcerpm") ?? "" });
  }
  return packages;
}

/** Where repomd.xml says primary metadata is. */
export function primaryHref(repomd: string): string | undefined {
  const data = /<data type="primary">([\s\S]*?)<\/data>/.exec(repomd)?.[1] ?? "";
  return /<location\s+href="([^"]+)"/.exec(data)?.[1];
}

/** `name-[E:]V-R.arch`, the epoch only when not 0 (as dnf and the lockfile print it). */
export function nevraOf(p: Pick<PrimaryPackage, "name" | "epoch" | "version" | "release" | "arch">): string {
  return `${p.name}-${p.epoch ? `${p.epoch}:` : ""}${p.version}-${p.release}.${p.arch}`;
}

/** Binary NEVRAs of each build NVR (source packages are never composed). */
export function rpmsOfBuilds(packages: readonly PrimaryPackage[], nvrs: readonly string[]): Map<string, string[]> {
  const result = new Map<string, string[]>(nvrs.map((nvr) => [nvr, []]));
  for (const p of packages) {
    if (p.arch === "src") continue;
    result.get(p.sourcerpm.replace(/\.src\.rpm$/, ""))?.push(nevraOf(p));
  }
  for (const list of result.values()) list.sort();
  return result;
}

async function fetchBytes(base: string, path: string): Promise<Buffer> {
  const url = new URL(path, base.endsWith("/") ? base : `${base}/`);
  if (url.protocol === "file:") return readFile(fileURLToPath(url));
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`unsupported repository URL ${base}`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url.href}: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Read a yum repository's primary metadata (gzip or plain; other compressions are refused). */
export async function readPrimary(repoUrl: string): Promise<PrimaryPackage[]> {
  const href = primaryHref((await fetchBytes(repoUrl, "repodata/repomd.xml")).toString("utf8"));
  if (!href) throw new Error(`${repoUrl}: repomd.xml lists no primary metadata`);
  const bytes = await fetchBytes(repoUrl, href);
  if (href.endsWith(".gz")) return parsePrimary(gunzipSync(bytes).toString("utf8"));
  if (href.endsWith(".xml")) return parsePrimary(bytes.toString("utf8"));
  throw new Error(`${repoUrl}: primary metadata ${href} uses a compression this composer does not read (createrepo_c --general-compress-type=gz)`);
}
