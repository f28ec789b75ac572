// Pure parts of the compose engine: what dnf is asked, how its complaints are read, the
// package list metadata, the input hash's canonical JSON, and the directory lock.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { parseLockfile, type Treefile } from "@atomic-ci/host-definition";
import { overlayOrder, treePath } from "./assemble.js";
import { classifyDnfFailure } from "./depsolve.js";
import { depsolveKey, type DepsolveKeyInput } from "./depsolve-cache.js";
import { canonicalJson } from "./input-hash.js";
import { DirLock } from "./lock.js";
import { packageDiff, parsePkglist, pkglistGVariant } from "./metadata.js";
import { escapeRefComponent } from "./pkgcache.js";
import { buildRequests, candidateRequest, parseCandidates } from "./requests.js";
import { candidateSets } from "./compose.js";
import type { ResolvedPackage } from "./result.js";

const treefile = (packages: string[]): Treefile =>
  ({ packageSpecs: packages.map((p) => ({ spec: p, name: p.replace(/-\d.*$/, "") })) }) as unknown as Treefile;

const lock = parseLockfile(JSON.stringify({ packages: { podman: { evra: "5:5.2.5-1.fc41.x86_64" }, ostree: { evr: "2024.8-1.fc41" } } }));

describe("buildRequests", () => {
  it("requests every locked name at its locked version and unlocked entries as written", () => {
    expect(buildRequests(treefile(["podman", "bash"]), lock, []).install).toEqual(["bash", "ostree-2024.8-1.fc41", "podman-5:5.2.5-1.fc41.x86_64"]);
  });

  it("lets a change set's candidate replace its name's lock entry, and hides other candidates", () => {
    const r = buildRequests(treefile(["podman"]), lock, parseCandidates(["podman-5:5.3.0-1.fc41.x86_64", "podman-devel-5:5.3.0-1.fc41.x86_64"]));
    expect(r.install).toEqual(["ostree-2024.8-1.fc41", "podman-5:5.3.0-1.fc41.x86_64"]);
    expect(r.visibleCandidates).toEqual(["podman-5:5.3.0-1.fc41.x86_64", "podman-devel-5:5.3.0-1.fc41.x86_64"]);
    expect(r.replacedLocks).toEqual(["podman"]);
  });

  it("refuses a candidate that is not a NEVRA", () => {
    expect(() => parseCandidates(["podman;rm -rf /.x86_64"])).toThrow(/candidates\.0/);
  });
});

describe("classifyDnfFailure", () => {
  it("names the missing dependency", () => {
    const said = "Error: \n Problem: conflicting requests\n  - nothing provides libndp >= 1.9 needed by NetworkManager-1:1.48.12-1.fc41.x86_64\n";
    expect(classifyDnfFailure(said)).toMatchObject({ missingDependency: "libndp >= 1.9", package: "NetworkManager-1:1.48.12-1.fc41.x86_64" });
  });

  it("names a request no repository has", () => {
    expect(classifyDnfFailure("Error: Unable to find a match: foo-9.9-1.fc41")).toMatchObject({ package: "foo-9.9-1.fc41" });
  });

  it("leaves other failures (repository unreadable) to be infrastructure errors", () => {
    expect(classifyDnfFailure("Error: Failed to download metadata for repo 'x': Cannot download repomd.xml")).toBeUndefined();
  });
});

describe("package list metadata", () => {
  const pkg = (name: string, version: string, epoch = 0): ResolvedPackage =>
    ({ name, epoch, version, release: "1.fc41", arch: "x86_64" }) as ResolvedPackage;

  it("round-trips through GVariant text, quotes included", () => {
    const list = [pkg("a'b", "1.0"), pkg("podman", "5.3.0", 5)];
    expect(pkglistGVariant(list)).toBe("[('a\\'b', '0', '1.0', '1.fc41', 'x86_64'), ('podman', '5', '5.3.0', '1.fc41', 'x86_64')]");
    expect(parsePkglist(pkglistGVariant(list)).map((p) => p.name)).toEqual(["a'b", "podman"]);
  });

  it("diffs against the parent", () => {
    expect(packageDiff([pkg("a", "1"), pkg("b", "1")], [pkg("b", "2"), pkg("c", "1")])).toEqual({
      added: ["c-1-1.fc41.x86_64"],
      removed: ["a-1-1.fc41.x86_64"],
      changed: [{ name: "b", from: "1-1.fc41.x86_64", to: "2-1.fc41.x86_64" }],
    });
  });
});

describe("small rules", () => {
  it("canonical JSON does not depend on key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { e: 2, f: 1 }] }, b: 1 }));
  });

  it("escapes package names into ref components and maps /etc to /usr/etc", () => {
    expect(escapeRefComponent("libstdc++")).toBe("libstdc_2b_2b");
    expect(treePath("/etc/motd")).toBe("usr/etc/motd");
    expect(treePath("/usr/lib/x")).toBe("usr/lib/x");
  });

  it("overlays filesystem last", () => {
    const names = overlayOrder([{ name: "zsh" }, { name: "filesystem" }, { name: "bash" }] as ResolvedPackage[]).map((p) => p.name);
    expect(names).toEqual(["bash", "zsh", "filesystem"]);
  });
});

describe("DirLock", () => {
  it("lets one holder in at a time", async () => {
    const lock = new DirLock(await mkdtemp(join(tmpdir(), "atomic-ci-lock-")), { pollMs: 5 });
    const order: string[] = [];
    const release = await lock.acquire("ref-a");
    const second = lock.acquire("ref-a").then(async (r) => {
      order.push("second");
      await r();
    });
    await new Promise((r) => setTimeout(r, 30));
    order.push("first-done");
    await release();
    await second;
    expect(order).toEqual(["first-done", "second"]);
  });

  it("times out", async () => {
    const lock = new DirLock(await mkdtemp(join(tmpdir(), "atomic-ci-lock-")), { pollMs: 5, timeoutMs: 30 });
    await lock.acquire("k");
    await expect(lock.acquire("k")).rejects.toThrow(/could not take the lock .*k\.lock within 30 ms/);
  });
});

describe("depsolveKey", () => {
  it("changes with anything dnf's answer depends on, and only then", async () => {
    const dir = await mkdtemp(join(tmpdir(), "atomic-ci-depsolve-key-"));
    await mkdir(join(dir, "repodata"));
    await writeFile(join(dir, "repodata", "repomd.xml"), "<repomd><revision>1</revision></repomd>");
    const input: DepsolveKeyInput = {
      repos: [{ id: "stable", url: pathToFileURL(dir).href }],
      requests: ["bash", "podman-5:5.2.5-1.fc41.x86_64"],
      exclude: [],
      releasever: "41",
      basearch: "x86_64",
      weakDeps: false,
      lock,
      candidates: [],
    };
    const key = await depsolveKey(input);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(await depsolveKey({ ...input })).toBe(key);
    const changed = [
      { ...input, requests: ["bash"] },
      { ...input, exclude: ["docs"] },
      { ...input, releasever: "42" },
      { ...input, weakDeps: true },
      { ...input, candidates: ["podman-5:5.3.0-1.fc41.x86_64"] },
      { ...input, lock: parseLockfile(JSON.stringify({ packages: { podman: { evra: "5:5.1.2-1.fc41.x86_64" } } })) },
      { ...input, repos: [{ id: "stable", url: pathToFileURL(dir).href, only: ["bash-5.2-1.fc41.x86_64"] }] },
      { ...input, repos: [{ id: "stable", url: pathToFileURL(dir).href, priority: 1 }] },
    ];
    const keys = await Promise.all(changed.map((c) => depsolveKey(c)));
    expect(new Set([key, ...keys]).size).toBe(changed.length + 1);
    await writeFile(join(dir, "repodata", "repomd.xml"), "<repomd><revision>2</revision></repomd>");
    expect(await depsolveKey(input)).not.toBe(key);
    // A repository whose metadata cannot be read: no key, so no caching (dnf will say what is wrong).
    expect(await depsolveKey({ ...input, repos: [{ id: "gone", url: pathToFileURL(join(dir, "nope")).href }] })).toBeUndefined();
  });
});

describe("candidate sets", () => {
  const koji = { repo: { id: "candidates", url: "file:///srv/candidates" }, nevras: ["podman-5:5.3.0-1.fc41.x86_64"] };
  const scratch = { repo: { id: "scratch", url: "file:///srv/atomic-ci/scratch/repo" }, nevras: ["chrony-4.6.1-2.fc41.x86_64"], preferred: true };

  it("takes one set (the Koji candidates, as before) or several, and refuses two repositories with one id", () => {
    expect(candidateSets(undefined)).toEqual([]);
    expect(candidateSets(koji)).toEqual([koji]);
    expect(candidateSets([koji, scratch])).toEqual([koji, scratch]);
    expect(() => candidateSets([koji, { ...scratch, repo: { ...scratch.repo, id: "candidates" } }])).toThrow(/distinct ids/);
  });

  it("names candidates as dnf is asked for them", () => {
    expect(parseCandidates([...koji.nevras, ...scratch.nevras]).map(candidateRequest)).toEqual(["podman-5:5.3.0-1.fc41.x86_64", "chrony-4.6.1-2.fc41.x86_64"]);
  });
});
