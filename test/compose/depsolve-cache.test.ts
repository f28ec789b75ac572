// The depsolve cache with the real tools: a no-op recompose answers from the repository's
// cache without running dnf (proved by a `dnf` on PATH that fails loudly), while a change to
// what determines dnf's answer — a repository's metadata, the lockfile, the overrides, the
// change set — runs dnf again. Either way the result is the same commit.
import { chmod, cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, DEPSOLVE_CACHE_DIR, type Composed, type ComposeOptions, type ComposeResult, type ResolvedPackage } from "@atomic-ci/compose";
import { createrepo, type ToolContext } from "@atomic-ci/tools";
import { buildFixtureWorld, type FixtureWorld } from "../fixture-world/src/index.js";
import { cleanup, copyDefinition, ctx, nevrasOf, ostree, scratch } from "./support.js";

let world: FixtureWorld;
let dir: string;
let stableCopy: string;
let def: { dir: string; treefile: string };
let opts: ComposeOptions;
/** A context whose `dnf` fails and leaves a mark: any compose that runs dnf with it fails. */
let noDnf: ToolContext;
let dnfMark: string;
let first: Composed;
let originalOverrides: string;

const now = () => new Date("2024-11-01T12:00:00Z");

function composed(result: ComposeResult): Composed {
  if (result.type !== "composed") throw new Error(`expected a commit, got ${JSON.stringify(result)}`);
  return result;
}

/** A package as the tree sees it: everything but where its RPM file was read from. */
const withoutPath = (packages: readonly ResolvedPackage[]) => packages.map(({ path: _path, ...rest }) => rest);

const cacheEntries = async (): Promise<string[]> => (await readdir(join(opts.repo, DEPSOLVE_CACHE_DIR))).filter((f) => f.endsWith(".json")).sort();

beforeAll(async () => {
  world = await buildFixtureWorld();
  dir = await scratch("depsolve-cache");
  // A private copy of the stable repository (its metadata is changed below) and a definition using it.
  stableCopy = join(dir, "stable");
  await cp(world.repos.stable.path, stableCopy, { recursive: true });
  def = await copyDefinition(world, dir);
  const repoFile = (await readdir(def.dir)).find((f) => f.endsWith(".repo"));
  if (!repoFile) throw new Error("the definition has no .repo file");
  const text = await readFile(join(def.dir, repoFile), "utf8");
  await writeFile(join(def.dir, repoFile), text.replace(/^baseurl=.*$/m, `baseurl=${pathToFileURL(stableCopy).href}`));
  originalOverrides = await readFile(join(def.dir, "manifest-lock.overrides.yaml"), "utf8");
  opts = { treefile: def.treefile, basearch: "x86_64", repo: join(dir, "repo"), workDir: join(dir, "work"), now };

  const bin = join(dir, "bin");
  dnfMark = join(dir, "dnf-ran");
  await mkdir(bin);
  await writeFile(join(bin, "dnf"), `#!/bin/sh\necho "$@" >> '${dnfMark}'\necho 'dnf must not run here' >&2\nexit 1\n`);
  await chmod(join(bin, "dnf"), 0o755);
  noDnf = { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` } };

  first = composed(await compose(opts, ctx));
});

afterAll(cleanup);

describe("a no-op recompose", () => {
  it("the first compose runs dnf and stores its resolution in the repository", async () => {
    expect(first.depsolveCached).toBe(false);
    expect(first.timings.depsolve).toBeGreaterThan(0);
    expect(first.timings.depsolveCache).toBeUndefined();
    expect(await cacheEntries()).toHaveLength(1);
    const entry = JSON.parse(await readFile(join(opts.repo, DEPSOLVE_CACHE_DIR, (await cacheEntries())[0] ?? ""), "utf8")) as { packages: { nevra: string; location?: string }[]; kernel?: string };
    expect(entry.packages.map((p) => p.nevra)).toEqual(first.packages.map((p) => p.nevra));
    expect(entry.kernel).toBe(world.kernel.kver);
    // Every RPM is located in its repository, relative to it (no machine path in the entry).
    expect(entry.packages.every((p) => p.location !== undefined && !p.location.startsWith("/"))).toBe(true);
  });

  it("skips dnf and reuses the same commit, with the same packages, lockfile and input hash", async () => {
    const again = composed(await compose(opts, noDnf));
    expect(existsSync(dnfMark)).toBe(false);
    expect(again.depsolveCached).toBe(true);
    expect(again.timings.depsolve).toBeUndefined();
    expect(again.timings.depsolveCache).toBeGreaterThanOrEqual(0);
    expect(again).toMatchObject({ reused: true, commit: first.commit, inputHash: first.inputHash, version: first.version, timestamp: first.timestamp, imported: [] });
    expect(withoutPath(again.packages)).toEqual(withoutPath(first.packages));
    expect(again.lockfile).toBe(first.lockfile);
    // The cached resolution names the RPMs in the (local) repository they came from.
    const podman = again.packages.find((p) => p.name === "podman");
    expect(podman?.path.startsWith(stableCopy)).toBe(true);
    expect(existsSync(podman?.path ?? "")).toBe(true);
    const json = JSON.parse(await readFile(again.composeJson, "utf8")) as Record<string, unknown>;
    expect(json).toMatchObject({ "ostree-commit": first.commit, reused: true, "rpm-ostree-inputhash": first.inputHash });
    const firstJson = JSON.parse(await readFile(first.composeJson, "utf8")) as Record<string, unknown>;
    expect(json["ostree-content-checksum"]).toBe(firstJson["ostree-content-checksum"]);
    expect(await cacheEntries()).toHaveLength(1);
  });

  it("with the cache gone, dnf runs again and gives the same answer", async () => {
    const entry = (await cacheEntries())[0] ?? "";
    const saved = await readFile(join(opts.repo, DEPSOLVE_CACHE_DIR, entry));
    await writeFile(join(opts.repo, DEPSOLVE_CACHE_DIR, entry), "{ not json");
    const fresh = composed(await compose(opts, ctx));
    expect(fresh.depsolveCached).toBe(false);
    expect(fresh).toMatchObject({ reused: true, commit: first.commit, inputHash: first.inputHash });
    expect(withoutPath(fresh.packages)).toEqual(withoutPath(first.packages));
    // …and the entry it rewrote is the one it had replaced.
    expect(JSON.parse(await readFile(join(opts.repo, DEPSOLVE_CACHE_DIR, entry), "utf8"))).toEqual(JSON.parse(saved.toString("utf8")));
  });

  it("a treefile change that does not touch depsolving keeps the cache and builds the new tree from it", async () => {
    // Drop podman from the package cache: the new tree needs its RPM, which the cached
    // resolution finds in the repository.
    const podman = first.packages.find((p) => p.name === "podman");
    const refs = (await ostree(opts.repo, "refs", "atomic-ci/pkgcache/podman")).split("\n").filter((l) => l !== "");
    for (const r of refs) await ostree(opts.repo, "refs", "--delete", `atomic-ci/pkgcache/podman/${r}`);
    const treefile = join(def.dir, "remove-docs.yaml");
    await writeFile(treefile, `include: ${basename(def.treefile)}\nremove-files:\n  - usr/share/doc\n`);
    const next = composed(await compose({ ...opts, treefile }, noDnf));
    expect(existsSync(dnfMark)).toBe(false);
    expect(next.depsolveCached).toBe(true);
    expect(next.reused).toBe(false);
    expect(next.inputHash).not.toBe(first.inputHash);
    expect(next.imported).toEqual([podman?.nevra]);
    expect(next.parent).toBe(first.commit);
    expect(await ostree(opts.repo, "fsck")).toMatch(/no errors found/);
  });

  it("falls back to dnf when a cached resolution's RPM is needed but no longer where the cache says", async () => {
    const entryPath = join(opts.repo, DEPSOLVE_CACHE_DIR, (await cacheEntries())[0] ?? "");
    const entry = JSON.parse(await readFile(entryPath, "utf8")) as { packages: { name: string; location?: string }[] };
    for (const p of entry.packages) if (p.name === "bash") p.location = "Packages/x86_64/gone.rpm";
    await writeFile(entryPath, JSON.stringify(entry));
    const refs = (await ostree(opts.repo, "refs", "atomic-ci/pkgcache/bash")).split("\n").filter((l) => l !== "");
    for (const r of refs) await ostree(opts.repo, "refs", "--delete", `atomic-ci/pkgcache/bash/${r}`);
    const treefile = join(def.dir, "remove-locale.yaml");
    await writeFile(treefile, `include: ${basename(def.treefile)}\nremove-files:\n  - usr/share/locale\n`);
    const next = composed(await compose({ ...opts, treefile }, ctx));
    expect(next.depsolveCached).toBe(false);
    expect(next.timings.depsolve).toBeGreaterThan(0);
    expect(next.imported).toEqual([first.packages.find((p) => p.name === "bash")?.nevra]);
    expect(withoutPath(next.packages)).toEqual(withoutPath(first.packages));
  });
});

describe("what invalidates the cache", () => {
  it("new repository metadata (one more package, createrepo_c again) runs dnf; the same commit is reused", async () => {
    // Back on the definition's ref head: the first tree.
    const head = await ostree(opts.repo, "rev-parse", first.ref);
    const before = await cacheEntries();
    const extra = world.builds.flatMap((b) => b.rpms).find((r) => r.nevra === "ostree-2024.9-1.fc41.x86_64");
    if (!extra) throw new Error("no ostree-2024.9 RPM in the fixture world");
    await cp(extra.path, join(stableCopy, "Packages", "x86_64", basename(extra.path)));
    await createrepo({ env: process.env, dir: stableCopy });
    const result = await compose(opts, noDnf);
    // With dnf failing, a compose that needs it fails: proof that the cache was not used.
    expect(result.type).toBe("infrastructure-error");
    expect(existsSync(dnfMark)).toBe(true);
    const fresh = composed(await compose(opts, ctx));
    expect(fresh.depsolveCached).toBe(false);
    // ostree is locked at 2024.8: the newer one in the repository changes nothing.
    expect(withoutPath(fresh.packages)).toEqual(withoutPath(first.packages));
    expect(fresh.inputHash).toBe(first.inputHash);
    expect(fresh).toMatchObject({ reused: true, commit: first.commit });
    expect(await ostree(opts.repo, "rev-parse", first.ref)).toBe(head);
    expect((await cacheEntries()).length).toBe(before.length + 1);
    // The new metadata's entry now answers.
    expect(composed(await compose(opts, ctx)).depsolveCached).toBe(true);
  });

  it("a pin in the overrides runs dnf; removing it answers from the cache again, with the first commit", async () => {
    const overrides = join(def.dir, "manifest-lock.overrides.yaml");
    await writeFile(overrides, "packages:\n  podman:\n    evr: 5:5.1.2-1.fc41\n    metadata: {type: pin, reason: https://tracker.example/issues/1}\n");
    const pinned = composed(await compose(opts, ctx));
    expect(pinned.depsolveCached).toBe(false);
    expect(pinned.reused).toBe(false);
    expect(pinned.packages.find((p) => p.name === "podman")?.version).toBe("5.1.2");
    await writeFile(overrides, originalOverrides);
    const back = composed(await compose(opts, noDnf));
    expect(back.depsolveCached).toBe(true);
    expect(back).toMatchObject({ reused: true, commit: first.commit, inputHash: first.inputHash });
  });

  it("a lockfile edit runs dnf", async () => {
    const lockPath = join(def.dir, "manifest-lock.x86_64.json");
    const original = await readFile(lockPath, "utf8");
    const podman = world.builds.flatMap((b) => b.rpms).find((r) => r.nevra === "podman-5:5.1.2-1.fc41.x86_64");
    if (!podman) throw new Error("no podman 5.1.2 in the fixture world");
    const lock = JSON.parse(original) as { packages: Record<string, unknown> };
    lock.packages.podman = { evra: podman.evra, digest: podman.digest };
    await writeFile(lockPath, JSON.stringify(lock, null, 2));
    try {
      expect((await compose(opts, noDnf)).type).toBe("infrastructure-error");
      const relocked = composed(await compose(opts, ctx));
      expect(relocked.depsolveCached).toBe(false);
      expect(relocked.packages.find((p) => p.name === "podman")?.version).toBe("5.1.2");
    } finally {
      await writeFile(lockPath, original);
    }
  });

  it("a change set runs dnf; the same change set again answers from the cache", async () => {
    const candidates = { repo: world.repos.candidates, nevras: nevrasOf(world, "podman-5.3.0-1.fc41") };
    const changed = composed(await compose({ ...opts, candidates }, ctx));
    expect(changed.depsolveCached).toBe(false);
    expect(changed.packages.find((p) => p.name === "podman")?.version).toBe("5.3.0");
    const again = composed(await compose({ ...opts, candidates }, noDnf));
    expect(again.depsolveCached).toBe(true);
    expect(again).toMatchObject({ reused: true, commit: changed.commit });
    // The candidate's RPM is located in the candidates repository.
    expect(again.packages.find((p) => p.name === "podman")?.path.startsWith(world.repos.candidates.path)).toBe(true);
  });
});
