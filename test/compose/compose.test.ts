// The compose engine against the real tools: dnf depsolves the fixture world's repositories,
// ostree commits into an archive repository, and the results are read back with ostree.
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, parsePkglist, PKGCACHE_PREFIX, type Composed, type ComposeResult } from "@atomic-ci/compose";
import { parseLockfile } from "@atomic-ci/host-definition";
import { buildFixtureWorld, type FixtureWorld } from "../fixture-world/src/index.js";
import { appendTo, cleanup, copyDefinition, ctx, metadataKey, nevrasOf, ostree, scratch } from "./support.js";

let world: FixtureWorld;
let base: string;
let repo: string;
let first: Composed;

function composed(result: ComposeResult): Composed {
  if (result.type !== "composed") throw new Error(`expected a commit, got ${JSON.stringify(result)}`);
  return result;
}

async function pkgcacheRefs(): Promise<string[]> {
  return (await ostree(repo, "refs", PKGCACHE_PREFIX)).split("\n").filter((l) => l !== "");
}

const candidates = (...nvrs: string[]) => ({ repo: world.repos.candidates, nevras: nvrs.flatMap((nvr) => nevrasOf(world, nvr)) });

beforeAll(async () => {
  world = await buildFixtureWorld();
  base = await scratch("compose");
  repo = join(base, "repo");
  first = composed(await compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir: join(base, "work"), changeSetId: "cs-initial" }, ctx));
});

afterAll(cleanup);

describe("a full compose of the fixture world", () => {
  it("commits a tree that ostree fsck finds clean, on the definition's ref", async () => {
    expect(first.ref).toBe(world.hostDefinition.ref);
    expect(await ostree(repo, "rev-parse", first.ref)).toBe(first.commit);
    expect(await ostree(repo, "fsck")).toMatch(/no errors found/);
  });

  it("records version, input hash, change set and bootability in the commit metadata", async () => {
    expect(await metadataKey(repo, first.commit, "version")).toBe(`'${first.version}'`);
    expect(first.version).toMatch(/^41\.\d{8}\.dev\.0$/);
    expect(await metadataKey(repo, first.commit, "rpmostree.inputhash")).toBe(`'${first.inputHash}'`);
    expect(await metadataKey(repo, first.commit, "atomic-ci.change-set")).toBe("'cs-initial'");
    expect(await metadataKey(repo, first.commit, "ostree.linux")).toBe(`'${world.kernel.kver}'`);
    expect(await metadataKey(repo, first.commit, "ostree.bootable")).toBe("true");
    expect(await metadataKey(repo, first.commit, "fedora-atomic-host.variant")).toBe("'atomic-host'");
  });

  it("commits exactly the package set dnf resolved, which is the definition's locked set", async () => {
    const committed = parsePkglist(await metadataKey(repo, first.commit, "rpmostree.rpmdb.pkglist"));
    expect(committed.map((p) => `${p.name}-${p.epoch ? `${p.epoch}:` : ""}${p.version}-${p.release}.${p.arch}`)).toEqual(first.packages.map((p) => p.nevra));
    expect(first.packages.map((p) => p.name)).toEqual(world.hostDefinition.resolved);
  });

  it("has the packages' files, /etc moved to /usr/etc, and the kernel where ostree looks", async () => {
    const ls = await ostree(repo, "ls", first.commit, "/usr/bin/busybox", `/usr/lib/modules/${world.kernel.kver}/vmlinuz`);
    expect(ls).toContain("/usr/bin/busybox");
    expect(ls).toContain("vmlinuz");
    expect(await ostree(repo, "ls", first.commit, "/")).not.toMatch(/ \/etc$/m);
    expect(await ostree(repo, "ls", first.commit, "/usr/etc")).toMatch(/\/usr\/etc/);
  });

  it("writes the new lockfile (evra and sha256 digest of every package) and the compose JSON", async () => {
    const lock = parseLockfile(first.lockfile);
    expect([...lock.packages.keys()].sort()).toEqual(world.hostDefinition.resolved);
    const kernelCore = world.builds.flatMap((b) => b.rpms).find((r) => r.nevra === world.kernel.package);
    expect(lock.packages.get("kernel-core")).toEqual({ evra: kernelCore?.evra, digest: kernelCore?.digest });
    const json = JSON.parse(await readFile(first.composeJson, "utf8")) as Record<string, unknown>;
    expect(json).toMatchObject({ ref: first.ref, "ostree-commit": first.commit, "ostree-version": first.version, "rpm-ostree-inputhash": first.inputHash, reused: false });
    expect(json["ostree-content-checksum"]).toMatch(/^[0-9a-f]{64}$/);
    expect(await readFile(first.composeJson.replace(/\.json$/, ".lock.json"), "utf8")).toBe(first.lockfile);
  });

  it("imports every package into the package cache once", async () => {
    expect(first.imported).toHaveLength(first.packages.length);
    expect(await pkgcacheRefs()).toHaveLength(first.packages.length);
  });
});

describe("recomposing", () => {
  it("reuses the commit when nothing changed (no-op), importing nothing", async () => {
    const again = composed(await compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir: join(base, "work") }, ctx));
    expect(again).toMatchObject({ reused: true, commit: first.commit, inputHash: first.inputHash, imported: [], depsolveCached: true });
    expect(first.depsolveCached).toBe(false);
    expect(again.timings.depsolve).toBeUndefined();
    expect(await ostree(repo, "rev-parse", first.ref)).toBe(first.commit);
  });

  it("a one-package change imports only that package and keeps the lock elsewhere", async () => {
    const before = await pkgcacheRefs();
    // podman 5.3.0 is one RPM; ostree 2024.9 in the same candidates repo is newer than the lock but not in this change set.
    const next = composed(await compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir: join(base, "work"), candidates: candidates("podman-5.3.0-1.fc41") }, ctx));
    const after = await pkgcacheRefs();
    expect(after.length - before.length).toBe(1);
    expect(next.imported).toEqual(["podman-5:5.3.0-1.fc41.x86_64"]);
    expect(next.parent).toBe(first.commit);
    expect(next.version).toBe(first.version.replace(/\.0$/, ".1"));
    expect(next.pkgdiff).toEqual({ added: [], removed: [], changed: [{ name: "podman", from: "5:5.2.5-1.fc41.x86_64", to: "5:5.3.0-1.fc41.x86_64" }] });
    const list = parsePkglist(await metadataKey(repo, next.commit, "rpmostree.rpmdb.pkglist"));
    expect(list.find((p) => p.name === "ostree")?.version).toBe("2024.8");
    expect(list.find((p) => p.name === "podman")?.version).toBe("5.3.0");
  });

  it("a change set whose candidate cannot depsolve is a compose failure naming the missing dependency", async () => {
    const head = await ostree(repo, "rev-parse", first.ref);
    const result = await compose({ treefile: world.hostDefinition.treefile, basearch: "x86_64", repo, workDir: join(base, "work"), candidates: candidates("NetworkManager-1.48.12-1.fc41") }, ctx);
    expect(result).toMatchObject({ type: "compose-failure", missingDependency: "libndp >= 1.9" });
    expect(await ostree(repo, "rev-parse", first.ref)).toBe(head);
  });
});

describe("the lock", () => {
  it("a pin holds an older version although a newer one is in the repository", async () => {
    const dir = await scratch("pin");
    const def = await copyDefinition(world, dir);
    const overrides = "packages:\n  podman:\n    evr: 5:5.1.2-1.fc41\n    metadata: {type: pin, reason: https://tracker.example/issues/1}\n";
    await writeFile(join(def.dir, "manifest-lock.overrides.yaml"), overrides);
    const pinned = composed(await compose({ treefile: def.treefile, basearch: "x86_64", repo: join(dir, "repo"), workDir: join(dir, "work") }, ctx));
    const podman = parsePkglist(await metadataKey(join(dir, "repo"), pinned.commit, "rpmostree.rpmdb.pkglist")).find((p) => p.name === "podman");
    expect(podman).toMatchObject({ version: "5.1.2", epoch: 5 });
    expect(parseLockfile(pinned.lockfile).packages.get("podman")?.evra).toBe("5:5.1.2-1.fc41.x86_64");
  });

  it("a lockfile naming a version no repository has is a compose failure naming it, with no commit", async () => {
    const dir = await scratch("nover");
    const def = await copyDefinition(world, dir);
    const lockPath = join(def.dir, "manifest-lock.x86_64.json");
    const text = (await readFile(lockPath, "utf8")).replace(/"evra": "36-1\.fc41\.x86_64"/, '"evra": "99-1.fc41.x86_64"');
    await writeFile(lockPath, text);
    const result = await compose({ treefile: def.treefile, basearch: "x86_64", repo: join(dir, "repo"), workDir: join(dir, "work") }, ctx);
    expect(result).toMatchObject({ type: "compose-failure", package: "dbus-broker-99-1.fc41.x86_64" });
    expect(existsSync(join(dir, "repo"))).toBe(false);
    expect(await readdir(join(dir, "work"))).toEqual([]);
  });
});

describe("two composers racing on the same input", () => {
  it("produce one commit", async () => {
    const dir = await scratch("race");
    const opts = { treefile: world.hostDefinition.treefile, basearch: "x86_64", repo: join(dir, "repo"), workDir: join(dir, "work") };
    // The repo exists first, so both get past creating it.
    await compose(opts, ctx).then(composed);
    const def = await copyDefinition(world, dir);
    await appendTo(def.treefile, "remove-files:\n  - usr/share/doc\n");
    const both = await Promise.all([compose({ ...opts, treefile: def.treefile }, ctx), compose({ ...opts, treefile: def.treefile }, ctx)]).then((rs) => rs.map(composed));
    expect(both[0]?.commit).toBe(both[1]?.commit);
    expect(both.map((r) => r.reused).sort()).toEqual([false, true]);
    expect((await ostree(opts.repo, "log", world.hostDefinition.ref)).match(/^commit /gm)).toHaveLength(2);
  });
});
