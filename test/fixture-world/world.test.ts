// The fixture world built from scratch into a temporary cache, checked with the real tools:
// createrepo_c's metadata, dnf's depsolving, rpm's headers, the lockfile, the treefiles, the
// kernel package, the cache. Broken packages, dist-git and messages: packages.test.ts.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { queryRpmFiles, rpmFileDigest } from "@atomic-ci/tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ctx, dnfInstall, installed, policies, runInRoot, tempDir } from "./helpers.js";
import { buildFixtureWorld, latestBuild, type FixtureWorld } from "./src/index.js";

let outDir: string;
let world: FixtureWorld;
let coldMs: number;
let hostRoot: string;

beforeAll(async () => {
  outDir = await tempDir("cache");
  const started = Date.now();
  world = await buildFixtureWorld({ outDir });
  coldMs = Date.now() - started;
  hostRoot = await tempDir("host");
  await dnfInstall(world, hostRoot, world.hostDefinition.packages);
}, 180_000);

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
  await rm(hostRoot, { recursive: true, force: true });
});

const rpm = (name: string) => {
  const found = world.builds.flatMap((b) => b.rpms).filter((r) => r.name === name);
  const last = found[found.length - 1];
  if (!last) throw new Error(`no RPM ${name}`);
  return last;
};

describe("building", () => {
  it("builds a cold world in seconds, under the cache directory, named by its input hash", () => {
    expect(world.cached).toBe(false);
    expect(world.root).toBe(join(outDir, world.hash));
    expect(world.manifest).toBe(join(world.root, "world.json"));
    expect(coldMs).toBeLessThan(60_000);
    expect(world.packages.length).toBeGreaterThanOrEqual(30);
    // Nothing half-built is left beside it.
    expect(readdirSync(outDir)).toEqual([world.hash]);
  });

  it("returns the cached world on a second call without building anything", async () => {
    const before = statSync(world.manifest).mtimeMs;
    const started = Date.now();
    const again = await buildFixtureWorld({ outDir });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(again.cached).toBe(true);
    expect(again.root).toBe(world.root);
    expect(again.builds.map((b) => b.rpms.map((r) => r.digest))).toEqual(world.builds.map((b) => b.rpms.map((r) => r.digest)));
    expect(statSync(world.manifest).mtimeMs).toBe(before);
  });

  it("leaves no cache entry behind when a build fails half way", async () => {
    const bad = await tempDir("bad");
    // A kernel whose modules.dep names modules that are not there: staging fails after the
    // temporary directory was made.
    await mkdir(join(bad, "boot"));
    await mkdir(join(bad, "modules", "9.9.9-1-test"), { recursive: true });
    await writeFile(join(bad, "boot", "vmlinuz-9.9.9-1-test"), "not a kernel");
    await writeFile(join(bad, "modules", "9.9.9-1-test", "modules.dep"), "kernel/fs/ext4/ext4.ko:\n");
    const cache = join(bad, "cache");
    await expect(buildFixtureWorld({ outDir: cache, bootDir: join(bad, "boot"), modulesRoot: join(bad, "modules") })).rejects.toThrow(
      /virtio_pci is not in modules.dep|ENOENT/,
    );
    expect(readdirSync(cache)).toEqual([]);
    await rm(bad, { recursive: true, force: true });
  });
});

describe("repositories", () => {
  it("writes yum repositories whose primary metadata lists every RPM with its file digest", () => {
    for (const repo of ["stable", "candidates"] as const) {
      const dir = world.repos[repo].path;
      const repomd = readFileSync(join(dir, "repodata", "repomd.xml"), "utf8");
      const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1] ?? "";
      const primary = gunzipSync(readFileSync(join(dir, href))).toString("utf8");
      const rpms = world.builds.filter((b) => b.repo === repo).flatMap((b) => b.rpms);
      expect(Number(/packages="(\d+)"/.exec(primary)?.[1])).toBe(rpms.length);
      for (const r of rpms) expect(primary).toContain(`<checksum type="sha256" pkgid="YES">${r.digest.slice("sha256:".length)}</checksum>`);
    }
  });

  it("keeps older versions in stable for pinning and the gate's builds in candidates", () => {
    const versions = (name: string, repo: string) => world.builds.filter((b) => b.name === name && b.repo === repo).map((b) => b.version);
    expect(versions("podman", "stable")).toEqual(["5.1.2", "5.2.5"]);
    expect(versions("ostree", "stable")).toEqual(["2024.7", "2024.8"]);
    expect(versions("podman", "candidates")).toEqual(["5.3.0"]);
    expect(world.builds.filter((b) => b.repo === "candidates").map((b) => b.nvr).sort()).toEqual(
      ["NetworkManager-1.48.12-1.fc41", "foo-cli-2.0-1.fc41", "libfoo-2.0-1.fc41", "ostree-2024.9-1.fc41", "podman-5.3.0-1.fc41", "rpm-ostree-2024.9-1.fc41"],
    );
    expect(rpm("podman").evra).toBe("5:5.3.0-1.fc41.x86_64");
  });
});

describe("lookaside", () => {
  it("holds every file a dist-git sources file lists, in Fedora's layout, with that SHA512", () => {
    let checked = 0;
    for (const pkg of world.packages) {
      const sources = join(pkg.distGit, "sources");
      if (!existsSync(sources)) continue;
      for (const line of readFileSync(sources, "utf8").trim().split("\n")) {
        const [, file = "", sha512 = ""] = /^SHA512 \((.+)\) = ([0-9a-f]{128})$/.exec(line) ?? [];
        const stored = join(world.lookaside.root, pkg.name, file, "sha512", sha512, file);
        expect(createHash("sha512").update(readFileSync(stored)).digest("hex"), stored).toBe(sha512);
        checked++;
      }
    }
    // busybox's binary and the kernel's files.
    expect(checked).toBeGreaterThanOrEqual(2);
    expect(world.lookaside.url).toBe(`file://${world.lookaside.root}`);
  });
});

describe("the host", () => {
  it("depsolves with dnf from the stable repo to exactly the lockfile's packages and versions", async () => {
    const lock = JSON.parse(readFileSync(world.hostDefinition.lockfile, "utf8")) as { packages: Record<string, { evra: string }> };
    const got = await installed(world, hostRoot);
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries(Object.entries(lock.packages).map(([name, p]) => [name, p.evra])));
    expect(got.get("podman")).toBe("5:5.2.5-1.fc41.x86_64");
    expect(got.size).toBe(world.hostDefinition.resolved.length);
  });

  it("puts the rpmdb where Fedora keeps it, thanks to the world's dnf HOME", () => {
    expect(existsSync(join(hostRoot, "usr/lib/sysimage/rpm/rpmdb.sqlite"))).toBe(true);
    expect(existsSync(join(hostRoot, "root/.rpmdb"))).toBe(false);
  });

  it("runs the host definition's tests inside the installed tree", async () => {
    const result = await runInRoot(hostRoot, join(world.hostDefinition.path, "tests"), "./host-smoke.sh");
    expect(result.stdout).toContain("PASS host/kernel");
    expect(result.code).toBe(0);
    const containers = await runInRoot(hostRoot, join(world.hostDefinition.path, "tests"), "./containers.sh");
    expect(containers.stdout).toContain("PASS containers/run");
    expect(containers.code).toBe(0);
  });

  it("writes literal % signs through the spec's heredocs", () => {
    expect(readFileSync(join(hostRoot, "etc/sudoers"), "utf8")).toBe("root ALL=(ALL) ALL\n%wheel ALL=(ALL) ALL\n");
  });
});

describe("host definition", () => {
  it("locks every stable package with its evra and the digest of the RPM file", async () => {
    const lock = JSON.parse(readFileSync(world.hostDefinition.lockfile, "utf8")) as {
      metadata: { generated: string; rpmmd_repos: Record<string, { generated: string }> };
      packages: Record<string, { evra: string; digest: string }>;
    };
    const stableNames = [...new Set(world.builds.filter((b) => b.repo === "stable").flatMap((b) => b.rpms.map((r) => r.name)))].sort();
    expect(Object.keys(lock.packages).sort()).toEqual(stableNames);
    expect(Object.keys(lock.metadata.rpmmd_repos)).toEqual(["fixture-stable"]);
    for (const [name, entry] of Object.entries(lock.packages)) {
      const newest = latestBuild(world, world.builds.find((b) => b.repo === "stable" && b.rpms.some((r) => r.name === name))?.name ?? "");
      const file = newest.rpms.find((r) => r.name === name);
      expect(entry.evra).toBe(file?.evra);
      expect(entry.digest).toBe(await rpmFileDigest(file?.path ?? ""));
    }
    expect(lock.packages["ostree"]?.evra).toBe("2024.8-1.fc41.x86_64");
    expect(lock.packages["grub2-common"]?.evra).toBe("1:2.12-10.fc41.noarch");
  });

  it("has treefiles in rpm-ostree's format, the base included by the top-level file", () => {
    const top = parse(readFileSync(world.hostDefinition.treefile, "utf8")) as Record<string, unknown>;
    const base = parse(readFileSync(world.hostDefinition.baseTreefile, "utf8")) as Record<string, unknown>;
    expect(top["include"]).toBe("fedora-atomic-host-base.yaml");
    expect(top["packages"]).toEqual(["podman", "foo-cli"]);
    expect(base).toMatchObject({
      ref: "fedora/41/${basearch}/atomic-host",
      releasever: 41,
      repos: ["fixture-stable"],
      "automatic-version-prefix": "41.<date:%Y%m%d>.dev",
      "add-commit-metadata": { "fedora-atomic-host.fixture-world": true },
      "packages-x86_64": ["grub2 bootupd"],
    });
    const repo = readFileSync(join(world.hostDefinition.path, "fixture-stable.repo"), "utf8");
    expect(repo).toContain(`baseurl=${world.repos.stable.url}\n`);
    expect(parse(readFileSync(world.hostDefinition.overrides, "utf8"))).toEqual({ packages: {} });
  });

  it("has Greenwave policies: a compose gate and a package gate deferring to dist-git", () => {
    const [compose] = policies(readFileSync(join(world.hostDefinition.path, "policies/compose-gate.yaml"), "utf8"));
    expect(compose?.tag).toBe("!Policy");
    expect(compose?.value).toMatchObject({ subject_type: "compose", decision_contexts: ["atomic_ci_compose_gate"] });
    expect(compose?.ruleTags).toEqual(["!PassingTestCaseRule", "!PassingTestCaseRule"]);
    const [pkg] = policies(readFileSync(join(world.hostDefinition.path, "policies/package-gate.yaml"), "utf8"));
    expect(pkg?.value).toMatchObject({ subject_type: "koji_build", product_versions: ["fedora-*"], rules: [{}] });
    expect(pkg?.ruleTags).toEqual(["!RemoteRule"]);
  });

  it("has an image gate on the compose requiring the tests in the booted qcow2, and host-smoke tagged image", () => {
    const [image] = policies(readFileSync(join(world.hostDefinition.path, "policies/image-gate.yaml"), "utf8"));
    expect(image?.value).toMatchObject({ subject_type: "compose", decision_contexts: ["atomic_ci_image_gate"], rules: [{ test_case_name: "atomic-ci.compose.image-tests.functional" }] });
    expect(image?.ruleTags).toEqual(["!PassingTestCaseRule"]);
    const tests = parse(readFileSync(join(world.hostDefinition.path, "tests/tests.yml"), "utf8")) as { roles: { tags: string[]; tests: Record<string, unknown>[] }[] }[];
    expect(tests[0]?.roles.map((r) => [r.tags, r.tests.map((t) => Object.keys(t)[0])])).toEqual([
      [["atomic", "image"], ["host-smoke"]],
      [["atomic"], ["containers"]],
    ]);
  });
});

describe("kernel", () => {
  it("packages the machine's kernel, its initramfs and the module subset under /usr/lib/modules/<kver>", async () => {
    const dir = `/usr/lib/modules/${world.kernel.kver}`;
    const files = await queryRpmFiles(rpm("kernel-core").path, ctx);
    for (const path of ["vmlinuz", "initramfs.img", "modules.dep", "modules.dep.bin", "kernel/fs/ext4/ext4.ko", "kernel/drivers/block/virtio_blk.ko"]) {
      expect(files).toContain(`${dir}/${path}`);
    }
    expect(await queryRpmFiles(rpm("kernel-modules").path, ctx)).toContain(`${dir}/kernel/fs/overlayfs/overlay.ko`);
    const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
    expect(sha(join(hostRoot, dir, "vmlinuz"))).toBe(sha(world.kernel.from.vmlinuz));
    const dep = readFileSync(join(hostRoot, dir, "modules.dep"), "utf8");
    expect(dep).toContain("kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko");
    expect(dep.trim().split("\n")).toHaveLength(world.kernel.bootModules.length + world.kernel.extraModules.length);
  });

  it("builds an initramfs that cpio reads, with busybox, /init, /dev/console and the boot modules in load order", async () => {
    const image = gunzipSync(readFileSync(join(hostRoot, world.kernel.initramfs)));
    const dir = await tempDir("initramfs");
    await writeFile(join(dir, "initramfs.cpio"), image);
    const { runTool } = await import("@atomic-ci/tools");
    const listing = await runTool("cpio", ["-itv", "-F", join(dir, "initramfs.cpio")], { env: ctx.env, timeoutMs: 30_000 });
    expect(listing.stdout).toMatch(/^crw------- .* 5,\s+1 .* dev\/console$/m);
    expect(listing.stdout).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/m);
    expect(listing.stdout).toMatch(/^-rwxr-xr-x .* init$/m);
    const init = await runTool("cpio", ["-i", "--to-stdout", "-F", join(dir, "initramfs.cpio"), "init"], { env: ctx.env, timeoutMs: 30_000 });
    expect(init.stdout).toContain('exec switch_root "$newroot" "$init"');
    await writeFile(join(dir, "init"), init.stdout);
    await runTool("busybox", ["sh", "-n", join(dir, "init")], { env: ctx.env, timeoutMs: 10_000 });
    const order = (await runTool("cpio", ["-i", "--to-stdout", "-F", join(dir, "initramfs.cpio"), "etc/initrd-modules"], { env: ctx.env, timeoutMs: 30_000 })).stdout
      .trim()
      .split("\n");
    expect(order).toEqual(world.kernel.bootModules);
    const at = (suffix: string) => order.findIndex((m) => m.endsWith(suffix));
    expect(at("/jbd2.ko")).toBeLessThan(at("/ext4.ko"));
    expect(at("/virtio.ko")).toBeLessThan(at("/virtio_blk.ko"));
    expect(at("/scsi_mod.ko")).toBeLessThan(at("/sd_mod.ko"));
    await rm(dir, { recursive: true, force: true });
  });
});
