import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerBwrapArgs, resolveInRoot, resolveProcess } from "./container-sandbox.js";
import { blobPath, ImageError, verifyLayout, type VerifiedImage } from "./container-oci.js";
import { unpackImage } from "./container-unpack.js";
import { pax, sha256, tar, writeLayout } from "./container.test-helper.js";
import { bwrapArgs } from "./sandbox.js";

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-oci-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BASE = tar([
  { name: "bin/", type: "5" },
  { name: "bin/tool", content: "#!/bin/sh\necho tool\n", mode: 0o4755 },
  { name: "bin/sh", type: "2", linkname: "tool" },
  { name: "etc/", type: "5" },
  { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n" },
  { name: "etc/group", content: "root:x:0:\nstaff:x:50:\n" },
  { name: "etc/stale", content: "old" },
  { name: "var/", type: "5" },
  { name: "var/cache/", type: "5" },
  { name: "var/cache/a", content: "lower a" },
  { name: "var/cache/sub/", type: "5" },
  { name: "var/cache/sub/b", content: "lower b" },
  { name: "dev/null", type: "3" },
]);

async function layout(layers: Buffer[], options: Parameters<typeof writeLayout>[2] = {}): Promise<{ store: string; path: string; digests: Awaited<ReturnType<typeof writeLayout>> }> {
  const store = join(dir, `store-${++n}`);
  const path = join(store, "img");
  const digests = await writeLayout(path, layers, options);
  return { store, path, digests };
}

async function refusal(promise: Promise<unknown>): Promise<ImageError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  return err as ImageError;
}

describe("OCI layout verification", () => {
  it("follows index → manifest → config → layers and checks every blob", async () => {
    const { store, path, digests } = await layout([BASE], { ref: "41" });
    const image = await verifyLayout(store, path, { ref: "41" });
    expect(image).toMatchObject({ manifestDigest: digests.manifest, configDigest: digests.config, layers: [{ digest: digests.layers[0], diffId: sha256(BASE) }] });
    expect((await verifyLayout(store, path, { digest: digests.manifest })).manifestDigest).toBe(digests.manifest);
    expect((await verifyLayout(store, path)).manifestDigest).toBe(digests.manifest); // the only one
  });

  it("refuses a tampered blob, naming it", async () => {
    const { store, path, digests } = await layout([BASE]);
    const blob = blobPath(path, digests.layers[0] ?? "");
    const bytes = await readFile(blob);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff; // same size, other content
    await writeFile(blob, bytes);
    const err = await refusal(verifyLayout(store, path));
    expect(err.stage).toBe("layout");
    expect(err.message).toContain(`blob ${digests.layers[0]}: content has digest sha256:`);
    expect(err.message).toContain("tampered");
  });

  it("refuses a blob of the wrong size and a missing or symlinked blob", async () => {
    const { store, path, digests } = await layout([BASE]);
    await writeFile(blobPath(path, digests.config), "{}");
    expect((await refusal(verifyLayout(store, path))).message).toMatch(/blob sha256:\w+: size 2 bytes, the descriptor says \d+/);
    await rm(blobPath(path, digests.config));
    expect((await refusal(verifyLayout(store, path))).message).toContain(`blob ${digests.config}: missing`);
  });

  it("refuses bad index.json and oci-layout files", async () => {
    const { store, path } = await layout([BASE], { ref: "41" });
    expect((await refusal(verifyLayout(store, path, { ref: "42" }))).message).toBe('index.json: no image with ref "42" (it lists 41)');
    await writeFile(join(path, "index.json"), JSON.stringify({ schemaVersion: 1, manifests: [] }));
    expect((await refusal(verifyLayout(store, path))).message).toMatch(/^index\.json: schemaVersion: /);
    await writeFile(join(path, "index.json"), "{not json");
    expect((await refusal(verifyLayout(store, path))).message).toMatch(/^index\.json: not JSON/);
    await writeFile(join(path, "oci-layout"), JSON.stringify({ imageLayoutVersion: "2.0.0" }));
    expect((await refusal(verifyLayout(store, path))).message).toMatch(/^oci-layout: imageLayoutVersion: /);
  });

  it("follows a multi-platform index to this platform's manifest", async () => {
    const { store, path, digests } = await layout([BASE]);
    const index = JSON.parse(await readFile(join(path, "index.json"), "utf8")) as { manifests: Record<string, unknown>[] };
    const nested = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ ...index.manifests[0], platform: { os: "linux", architecture: "amd64" } }] }));
    await writeFile(join(path, "blobs", "sha256", sha256(nested).slice(7)), nested);
    await writeFile(join(path, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: sha256(nested), size: nested.length, annotations: { "org.opencontainers.image.ref.name": "multi" } }] }));
    expect((await verifyLayout(store, path, { ref: "multi", platform: { os: "linux", architecture: "amd64" } })).manifestDigest).toBe(digests.manifest);
    expect((await refusal(verifyLayout(store, path, { ref: "multi", platform: { os: "linux", architecture: "s390x" } }))).message).toContain("0 manifests for linux/s390x");
  });

  it("refuses an image for another architecture, a layer count mismatch, and a layout outside the store", async () => {
    const arm = await layout([BASE], { architecture: "arm64" });
    expect((await refusal(verifyLayout(arm.store, arm.path, { platform: { os: "linux", architecture: "amd64" } }))).message).toContain("the image is for linux/arm64, the host runs linux/amd64");
    const outside = await layout([BASE]);
    const store = join(dir, "empty-store");
    await mkdir(store, { recursive: true });
    expect((await refusal(verifyLayout(store, join(store, "..", `store-${n}`, "img")))).message).toContain("resolves outside the image store");
    expect((await refusal(verifyLayout(outside.store, join(outside.store, "nope")))).message).toBe('layout "nope" does not exist in the image store');
  });
});

async function unpacked(layers: Buffer[], gzip = true): Promise<{ rootfs: string; image: VerifiedImage; report: Awaited<ReturnType<typeof unpackImage>> }> {
  const { store, path } = await layout(layers, { gzip });
  const image = await verifyLayout(store, path);
  const rootfs = join(dir, `rootfs-${n}`);
  const report = await unpackImage(image, rootfs, join(dir, `scratch-${n}`));
  return { rootfs, image, report };
}

async function unpackRefusal(layers: Buffer[]): Promise<{ err: ImageError; rootfs: string }> {
  const { store, path } = await layout(layers);
  const rootfs = join(dir, `rootfs-${n}`);
  const err = await refusal(unpackImage(await verifyLayout(store, path), rootfs, join(dir, `scratch-${n}`)));
  expect(err.stage).toBe("unpack");
  return { err, rootfs };
}

describe("layer unpacking", () => {
  it("applies layers in order with whiteouts and opaque directories", async () => {
    const upper = tar([
      { name: "etc/.wh.stale" },
      { name: "var/cache/new", content: "upper" },
      { name: "var/cache/.wh..wh..opq" },
      { name: "var/cache/later", content: "after the marker" },
      { name: "bin/tool", content: "#!/bin/sh\necho tool v2\n", mode: 0o755 },
    ]);
    const { rootfs, report } = await unpacked([BASE, upper]);
    expect(existsSync(join(rootfs, "etc/stale"))).toBe(false);
    expect(existsSync(join(rootfs, "etc/.wh.stale"))).toBe(false);
    expect(existsSync(join(rootfs, "var/cache/a"))).toBe(false);
    expect(existsSync(join(rootfs, "var/cache/sub"))).toBe(false);
    expect(await readFile(join(rootfs, "var/cache/new"), "utf8")).toBe("upper");
    expect(await readFile(join(rootfs, "var/cache/later"), "utf8")).toBe("after the marker");
    expect(await readFile(join(rootfs, "bin/tool"), "utf8")).toContain("v2");
    expect(await readlink(join(rootfs, "bin/sh"))).toBe("tool");
    expect(report).toMatchObject({ layers: 2, whiteouts: 2, skipped: ["dev/null"] });
  });

  it("drops setuid bits and reads pax path records and uncompressed layers", async () => {
    const long = `deep/${"d".repeat(120)}/file`;
    const { rootfs } = await unpacked([BASE, tar([pax({ path: long }), { name: "ignored-short-name", content: "pax" }])], false);
    expect(((await lstat(join(rootfs, "bin/tool"))).mode & 0o7777).toString(8)).toBe("755");
    expect(await readFile(join(rootfs, long), "utf8")).toBe("pax");
    const gnu = `gnu/${"g".repeat(150)}`;
    const { rootfs: second } = await unpacked([tar([{ name: "././@LongLink", type: "L", content: `${gnu}\0` }, { name: "short", content: "gnu long name" }])]);
    expect(await readFile(join(second, gnu), "utf8")).toBe("gnu long name");
  });

  it("refuses an entry with '..' and writes nothing outside the root", async () => {
    const { err, rootfs } = await unpackRefusal([tar([{ name: "../escaped", content: "x" }])]);
    expect(err.message).toMatch(/^layer 1 \(sha256:\w+\): entry "\.\.\/escaped" contains '\.\.' and could leave the root; refused$/);
    expect(existsSync(join(rootfs, "..", "escaped"))).toBe(false);
  });

  it("refuses writing through an absolute symlink (the /etc escape)", async () => {
    const target = join(dir, "victim");
    await mkdir(target, { recursive: true });
    const { err } = await unpackRefusal([tar([{ name: "evil", type: "2", linkname: target }, { name: "evil/passwd", content: "pwned" }])]);
    expect(err.message).toContain('entry "evil/passwd": parent "evil" is a symbolic link');
    expect(existsSync(join(target, "passwd"))).toBe(false);
  });

  it("refuses the escape across layers too, and absolute names and outside hard links", async () => {
    const victim = join(dir, "victim2");
    await mkdir(victim, { recursive: true });
    expect((await unpackRefusal([tar([{ name: "etc", type: "2", linkname: victim }]), tar([{ name: "etc/x", content: "pwned" }])])).err.message).toContain('parent "etc" is a symbolic link');
    expect(existsSync(join(victim, "x"))).toBe(false);
    expect((await unpackRefusal([tar([{ name: "/etc/passwd", content: "x" }])])).err.message).toContain('"/etc/passwd" is an absolute path; refused');
    expect((await unpackRefusal([tar([{ name: "x", type: "1", linkname: "../../etc/passwd" }])])).err.message).toContain("contains '..'");
  });

  it("checks each layer against its diff_id", async () => {
    const { store, path, digests } = await layout([BASE], { gzip: false });
    const image = await verifyLayout(store, path);
    const [layer] = image.layers;
    if (!layer) throw new Error("no layer");
    layer.diffId = sha256("something else");
    const err = await refusal(unpackImage(image, join(dir, "rootfs-diff"), join(dir, "scratch-diff")));
    expect(err.message).toContain(`layer 1 (${(digests.layers[0] ?? "").slice(0, 19)}): uncompressed content has digest ${sha256(BASE)}`);
  });

  it("stops at the byte limit (a gzip bomb)", async () => {
    const { store, path } = await layout([tar([{ name: "zeros", content: Buffer.alloc(4 * 1024 * 1024) }])]);
    const err = await refusal(unpackImage(await verifyLayout(store, path), join(dir, "rootfs-bomb"), join(dir, "scratch-bomb"), { maxBytes: 1024 * 1024, maxEntries: 10 }));
    expect(err.message).toContain("more than the limit of uncompressed bytes");
  });
});

describe("the container's process", () => {
  it("resolves entrypoint, cmd, env, user and workdir as podman would", async () => {
    const { rootfs, image } = await unpacked([BASE]);
    image.config.config = { User: "app:staff", Env: ["PATH=/bin", "A=1"], Entrypoint: ["/bin/tool"], Cmd: ["--help"], WorkingDir: "/srv/work" };
    const proc = await resolveProcess(image.config, { env: { B: "2" } }, rootfs);
    expect(proc).toEqual({ argv: ["/bin/tool", "--help"], env: { PATH: "/bin", A: "1", B: "2", HOME: "/home/app" }, uid: 1000, gid: 50, cwd: "/srv/work" });
    expect((await lstat(join(rootfs, "srv/work"))).isDirectory()).toBe(true);
    // The definition's command replaces Cmd; its entrypoint drops Cmd.
    expect((await resolveProcess(image.config, { env: {}, command: ["sh", "-c", "x"] }, rootfs)).argv).toEqual(["/bin/tool", "sh", "-c", "x"]);
    expect((await resolveProcess(image.config, { env: {}, entrypoint: ["sh"] }, rootfs)).argv).toEqual(["sh"]);
    expect((await resolveProcess(image.config, { env: {}, user: "4242" }, rootfs))).toMatchObject({ uid: 4242, gid: 0, env: { HOME: "/" } });
  });

  it("names what is missing: the user, the program", async () => {
    const { rootfs, image } = await unpacked([BASE]);
    image.config.config = { User: "nobody", Cmd: ["/bin/tool"] };
    expect((await refusal(resolveProcess(image.config, { env: {} }, rootfs))).message).toBe('user "nobody" is not in the image\'s /etc/passwd');
    image.config.config = { Cmd: ["missing-tool"], Env: ["PATH=/bin"] };
    expect((await refusal(resolveProcess(image.config, { env: {} }, rootfs))).message).toBe('executable "missing-tool" not found in the image (PATH=/bin)');
    image.config.config = {};
    expect((await refusal(resolveProcess(image.config, { env: {} }, rootfs))).stage).toBe("config");
  });

  it("resolves paths as the container sees them, never outside its root", async () => {
    const { rootfs } = await unpacked([tar([{ name: "etc/", type: "5" }, { name: "etc/passwd", type: "2", linkname: "/../../../../etc/shadow" }, { name: "up", type: "2", linkname: "../../.." }])]);
    expect(await resolveInRoot(rootfs, "/etc/passwd")).toBeNull(); // /etc/shadow of the image: missing
    expect(await resolveInRoot(rootfs, "/up/etc")).toBe(join(rootfs, "etc"));
  });

  // Mount layout differs on purpose (the image is the root, writable like a container's); the hardening may not.
  it("hardens the container sandbox exactly like the host-test sandbox", () => {
    const flags = (args: string[]) => args.filter((a, i) => a.startsWith("--") && !["--bind", "--ro-bind", "--symlink", "--dir", "--remount-ro", "--tmpfs", "--setenv", "--chdir", "--uid", "--gid", "--hostname", "--proc", "--dev", "--json-status-fd", "--"].includes(a) && args[i - 1] !== "--setenv");
    const host = bwrapArgs({ tree: "/t", links: new Map(), testDir: "/d", artifactsDir: "/a", env: {}, command: ["x"], statusFd: 3 });
    const container = containerBwrapArgs({ rootfs: "/r", hostname: "img", argv: ["x"], env: { PATH: "/bin" }, uid: 1000, gid: 1000, cwd: "/", statusFd: 3 });
    expect(flags(container)).toEqual(flags(host));
    expect(container.join(" ")).toContain("--bind /r / --proc /proc --dev /dev --chdir /");
    expect(container.join(" ")).toContain("--uid 1000 --gid 1000 --hostname img --cap-drop ALL");
  });
});
