// Promotion verified as a user would: the public tree is served over HTTP, a client repository
// with GPG verification pulls the released ref and checks it out, downloads the images the
// stream metadata names and checks their checksums and signatures; a tampered object or summary
// makes the pull fail; a second (or concurrent) promotion of a release does nothing; rollback
// moves the ref back and marks a dead-end.
import { createHash } from "node:crypto";
import { cp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, type Composed, type ComposeResult } from "@atomic-ci/compose";
import { buildImages, type BuiltImages } from "@atomic-ci/images";
import {
  generateThrowawayKey,
  layout,
  promote,
  PromotionConflictError,
  ReleaseJson,
  ReleasesIndex,
  rollback,
  StreamMetadata,
  UpdatesJson,
  type PromoteOptions,
  type ThrowawayKey,
} from "@atomic-ci/publish";
import { buildFixtureWorld, type FixtureWorld } from "../fixture-world/src/index.js";
import { cleanup, ctx, nevrasOf, scratch } from "../compose/support.js";
import { clientRepo, fetchBytes, serve, tool, toolFails, type Served } from "./support.js";

let world: FixtureWorld;
let base: string;
let pipelineRepo: string;
let publicDir: string;
let publicRepo: string;
let first: Composed;
let second: Composed;
let images1: BuiltImages;
let images2: BuiltImages;
let key: ThrowawayKey;
let server: Served;
const timings: Record<string, number> = {};

function composed(result: ComposeResult): Composed {
  if (result.type !== "composed") throw new Error(`expected a commit, got ${JSON.stringify(result)}`);
  return result;
}

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await work();
  } finally {
    timings[name] = Date.now() - start;
  }
}

function options(c: Composed, built: BuiltImages, version: string): PromoteOptions {
  return { pipelineRepo, commit: c.commit, publicRepo, publicDir, stream: "stable", ref: c.ref, version, gpg: key, metaJson: built.metaPath, baseUrl: server.url, compressionLevel: 1, now: new Date("2026-11-26T12:00:00.123Z") };
}

const json = async (rel: string): Promise<unknown> => JSON.parse(await readFile(join(publicDir, rel), "utf8"));
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

beforeAll(async () => {
  world = await timed("fixtureWorld", () => buildFixtureWorld());
  base = await scratch("publish");
  pipelineRepo = join(base, "pipeline-repo");
  publicDir = join(base, "public");
  publicRepo = join(publicDir, "repo");
  const work = join(base, "work");
  first = composed(await timed("compose1", () => compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo: pipelineRepo, workDir: work }, ctx)));
  const candidates = { repo: world.repos.candidates, nevras: nevrasOf(world, "podman-5.3.0-1.fc41") };
  second = composed(await timed("compose2", () => compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo: pipelineRepo, workDir: work, candidates }, ctx)));
  const imageOpts = { repo: pipelineRepo, ref: first.ref, formats: ["qcow2"] as const, outDir: join(base, "images"), workDir: join(base, "image-work") };
  images1 = await timed("images1", () => buildImages({ ...imageOpts, commit: first.commit }, ctx));
  images2 = await timed("images2", () => buildImages({ ...imageOpts, commit: second.commit }, ctx));
  key = await timed("gpgKey", () => generateThrowawayKey(join(base, "key"), ctx));
  server = await serve(publicDir);
});

afterAll(async () => {
  await server.close();
  await key.dispose();
  await cleanup();
  console.log(`publish test timings (ms): ${JSON.stringify(timings)}`);
});

describe("promotion into a signed public repository", () => {
  it("promotes the first release: signed commit, delta from empty, ref, signed summary, images", async () => {
    const result = await timed("promote1", () => promote(options(first, images1, "41.20261126.0"), ctx));
    console.log(`promote steps (ms): ${JSON.stringify(result.timings)}`);
    expect(result).toMatchObject({ type: "promoted", ref: first.ref, commit: first.commit, deltaFrom: "empty" });
    expect(await tool("ostree", "rev-parse", `--repo=${publicRepo}`, first.ref)).toBe(first.commit);
    expect(await tool("ostree", "static-delta", "list", `--repo=${publicRepo}`)).toBe(first.commit);
    const files = await readdir(join(publicRepo));
    expect(files).toEqual(expect.arrayContaining(["summary", "summary.sig"]));
  });

  it("a user pulls it with GPG verification over HTTP and checks the release out", async () => {
    const dir = await scratch("client");
    const repo = await clientRepo(dir, server.url, key.publicKeyPath);
    await tool("ostree", "pull", `--repo=${repo}`, "pub", first.ref);
    expect(await tool("ostree", "rev-parse", `--repo=${repo}`, `pub:${first.ref}`)).toBe(first.commit);
    const verify = await tool("ostree", "show", `--repo=${repo}`, "--gpg-verify-remote=pub", first.commit);
    expect(verify).toMatch(/Good signature/);
    await tool("ostree", "checkout", `--repo=${repo}`, "-U", `pub:${first.ref}`, join(dir, "checkout"));
    expect((await stat(join(dir, "checkout", "usr"))).isDirectory()).toBe(true);
    expect(await tool("ostree", "fsck", `--repo=${repo}`)).not.toMatch(/corrupt/i);
  });

  it("the stream metadata names images whose checksums and detached signatures hold", async () => {
    const stream = StreamMetadata.parse(await json(layout.stream("stable")));
    const qemu = stream.architectures.x86_64?.artifacts.qemu;
    expect(qemu?.release).toBe("41.20261126.0");
    const disk = qemu?.formats["qcow2.xz"]?.disk;
    if (!disk) throw new Error("no qcow2.xz in the stream metadata");
    expect(disk.location).toBe(`${server.url}prod/streams/stable/builds/41.20261126.0/x86_64/fedora-atomic-host-41.20261126.0-qemu.x86_64.qcow2.xz`);
    expect(disk.signature).toBe(`${disk.location}.sig`);
    const bytes = await fetchBytes(disk.location);
    expect(sha256(bytes)).toBe(disk.sha256);
    const dir = await scratch("download");
    const file = join(dir, "image.qcow2.xz");
    await writeFile(file, bytes);
    await writeFile(`${file}.sig`, await fetchBytes(disk.signature));
    await tool("xz", "-dk", file);
    expect(sha256(await readFile(join(dir, "image.qcow2")))).toBe(disk["uncompressed-sha256"]);
    expect(disk["uncompressed-sha256"]).toBe(images1.meta.images.qcow2?.sha256);
    const keyring = join(dir, "keyring.gpg");
    await tool("gpg", "--batch", "--yes", "--output", keyring, "--dearmor", key.publicKeyPath);
    await tool("gpgv", "--keyring", keyring, `${file}.sig`, file);
    await writeFile(file, Buffer.concat([bytes, Buffer.from("x")]));
    expect(await toolFails("gpgv", "--keyring", keyring, `${file}.sig`, file)).toMatch(/BAD signature/);
  });

  it("two concurrent promotions of the next release make one release, with a delta from the previous one", async () => {
    const opts = options(second, images2, "41.20261127.0");
    const results = await timed("promote2", () => Promise.all([promote(opts, ctx), promote(opts, ctx)]));
    expect(results.map((r) => r.type).sort()).toEqual(["already-promoted", "promoted"]);
    expect(results.find((r) => r.type === "promoted")?.deltaFrom).toBe(first.commit);
    expect(await tool("ostree", "static-delta", "list", `--repo=${publicRepo}`)).toContain(`${first.commit}-${second.commit}`);
    const before = await readFile(join(publicDir, layout.releases("stable")), "utf8");
    expect((await promote(opts, ctx)).type).toBe("already-promoted");
    expect(await readFile(join(publicDir, layout.releases("stable")), "utf8")).toBe(before);
    const index = ReleasesIndex.parse(JSON.parse(before));
    expect(index.releases.map((r) => r.version)).toEqual(["41.20261126.0", "41.20261127.0"]);
  });

  it("a version is released once: the same version with another commit is refused", async () => {
    await expect(promote(options(first, images1, "41.20261127.0"), ctx)).rejects.toBeInstanceOf(PromotionConflictError);
  });

  it("an upgrading client pulls the new release through the static delta", async () => {
    const dir = await scratch("client");
    const repo = await clientRepo(dir, server.url, key.publicKeyPath);
    await tool("ostree", "pull", `--repo=${repo}`, "pub", `${first.ref}@${first.commit}`);
    const out = await tool("ostree", "pull", `--repo=${repo}`, "pub", first.ref);
    expect(out).toMatch(/delta parts/);
    expect(await tool("ostree", "rev-parse", `--repo=${repo}`, `pub:${first.ref}`)).toBe(second.commit);
  });

  it("writes metadata with Fedora CoreOS's field names", async () => {
    const stream = (await json(layout.stream("stable"))) as Record<string, unknown>;
    expect(Object.keys(stream).sort()).toEqual(["architectures", "metadata", "stream"]);
    expect(Object.keys(stream.metadata as object).sort()).toEqual(["generator", "last-modified"]);
    expect((stream.metadata as Record<string, string>)["last-modified"]).toBe("2026-11-26T12:00:00Z");
    const arch = (stream.architectures as Record<string, Record<string, unknown>>).x86_64 ?? {};
    expect(Object.keys(arch).sort()).toEqual(["artifacts", "images"]);
    const qemu = (arch.artifacts as Record<string, Record<string, unknown>>).qemu ?? {};
    expect(Object.keys(qemu).sort()).toEqual(["formats", "release"]);
    const disk = ((qemu.formats as Record<string, { disk: object }>)["qcow2.xz"]?.disk ?? {});
    expect(Object.keys(disk).sort()).toEqual(["location", "sha256", "signature", "uncompressed-sha256"]);

    const index = (await json(layout.releases("stable"))) as { releases: Record<string, unknown>[] } & Record<string, unknown>;
    expect(Object.keys(index).sort()).toEqual(["metadata", "releases", "stream"]);
    expect(Object.keys(index.releases[0] ?? {}).sort()).toEqual(["commits", "metadata", "version"]);
    expect(index.releases[0]?.commits).toEqual([{ architecture: "x86_64", checksum: first.commit }]);
    expect(index.releases[0]?.metadata).toBe(`${server.url}prod/streams/stable/builds/41.20261126.0/release.json`);

    const release = ReleaseJson.parse(await (await fetch(String(index.releases[1]?.metadata))).json());
    expect(Object.keys(release).sort()).toEqual(["architectures", "metadata", "release", "stream"]);
    expect(release).toMatchObject({ release: "41.20261127.0", stream: "stable", architectures: { x86_64: { commit: second.commit } } });
    expect(Object.keys(release.architectures.x86_64?.media.qemu?.artifacts ?? {})).toEqual(["qcow2.xz"]);
  });

  it("rollback moves the ref back (signed) and marks the withdrawn release a dead-end", async () => {
    const result = await rollback({ publicRepo, publicDir, stream: "stable", ref: first.ref, gpg: key, reason: "breaks boot on some hardware", now: new Date("2026-11-28T00:00:00Z") }, ctx);
    expect(result).toMatchObject({ type: "rolled-back", version: "41.20261126.0", commit: first.commit, withdrawn: ["41.20261127.0"] });
    const updates = UpdatesJson.parse(await json(layout.updates("stable")));
    expect(updates).toEqual({ stream: "stable", metadata: { "last-modified": "2026-11-28T00:00:00Z" }, releases: [{ version: "41.20261127.0", metadata: { deadend: { reason: "breaks boot on some hardware" } } }] });
    const stream = StreamMetadata.parse(await json(layout.stream("stable")));
    expect(stream.architectures.x86_64?.artifacts.qemu?.release).toBe("41.20261126.0");
    expect(ReleasesIndex.parse(await json(layout.releases("stable"))).releases).toHaveLength(2);

    const dir = await scratch("client");
    const repo = await clientRepo(dir, server.url, key.publicKeyPath);
    await tool("ostree", "pull", `--repo=${repo}`, "pub", first.ref);
    expect(await tool("ostree", "rev-parse", `--repo=${repo}`, `pub:${first.ref}`)).toBe(first.commit);
    expect((await rollback({ publicRepo, publicDir, stream: "stable", ref: first.ref, gpg: key, to: "41.20261126.0" }, ctx)).type).toBe("already-there");
    await expect(rollback({ publicRepo, publicDir, stream: "stable", ref: first.ref, gpg: key }, ctx)).rejects.toThrow(/no release before/);
  });
});

describe("tampering is caught by the client", () => {
  /** A copy of the public tree, served separately, with `damage` applied. */
  async function tampered(damage: (repo: string) => Promise<void>): Promise<{ dir: string; served: Served }> {
    const dir = await scratch("tampered");
    await cp(publicDir, join(dir, "public"), { recursive: true });
    await damage(join(dir, "public", "repo"));
    return { dir, served: await serve(join(dir, "public")) };
  }

  async function flipByte(path: string): Promise<void> {
    const bytes = await readFile(path);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
  }

  /** The loose object of the biggest regular file in the released commit (`ostree ls -RC`). */
  async function largestFileObject(repo: string): Promise<string> {
    const listing = await tool("ostree", "ls", `--repo=${repo}`, "-R", "-C", first.commit);
    let best = { checksum: "", size: -1 };
    for (const line of listing.split("\n")) {
      const [mode = "", , , size = "0", checksum = ""] = line.trim().split(/\s+/);
      if (mode.startsWith("-") && Number(size) > best.size) best = { checksum, size: Number(size) };
    }
    return join(repo, "objects", best.checksum.slice(0, 2), `${best.checksum.slice(2)}.filez`);
  }

  it("a flipped byte in an object fails the pull (and fsck)", async () => {
    const { dir, served } = await tampered(async (repo) => flipByte(await largestFileObject(repo)));
    try {
      const repo = await clientRepo(dir, served.url, key.publicKeyPath);
      expect(await toolFails("ostree", "pull", `--repo=${repo}`, "--disable-static-deltas", "pub", first.ref)).toMatch(/Corrupted|checksum/i);
      expect(await toolFails("ostree", "fsck", `--repo=${join(dir, "public", "repo")}`)).toMatch(/Corrupted|checksum/i);
    } finally {
      await served.close();
    }
  });

  it("a flipped byte in a static delta part fails the pull", async () => {
    const { dir, served } = await tampered(async (repo) => {
      const parts = (await readdir(join(repo, "deltas"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name === "0");
      await Promise.all(parts.map((p) => flipByte(join(p.parentPath, p.name))));
    });
    try {
      const repo = await clientRepo(dir, served.url, key.publicKeyPath);
      expect(await toolFails("ostree", "pull", `--repo=${repo}`, "pub", first.ref)).toMatch(/checksum|corrupt|invalid/i);
    } finally {
      await served.close();
    }
  });

  it("a tampered summary fails signature verification", async () => {
    const { dir, served } = await tampered((repo) => flipByte(join(repo, "summary")));
    try {
      const repo = await clientRepo(dir, served.url, key.publicKeyPath);
      expect(await toolFails("ostree", "pull", `--repo=${repo}`, "pub", first.ref)).toMatch(/BAD signature|signature/i);
    } finally {
      await served.close();
    }
  });

  it("a summary signed by another key is refused", async () => {
    const other = await generateThrowawayKey(await scratch("other-key"), ctx);
    try {
      const { dir, served } = await tampered((repo) => tool("ostree", "summary", `--repo=${repo}`, "-u", `--gpg-sign=${other.keyId}`, `--gpg-homedir=${other.homedir}`).then(() => undefined));
      try {
        const repo = await clientRepo(dir, served.url, key.publicKeyPath);
        expect(await toolFails("ostree", "pull", `--repo=${repo}`, "pub", first.ref)).toMatch(/public key not found|signature/i);
      } finally {
        await served.close();
      }
    } finally {
      await other.dispose();
    }
  });
});
