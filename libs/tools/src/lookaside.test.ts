import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distGitLocation } from "./dist-git.js";
import { fetchLookaside, LookasideError, lookasideLocation, parseSourcesFile, readSourcesFile } from "./lookaside.js";

const sha = (text: string) => createHash("sha512").update(text).digest("hex");
const H = sha("x");

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof LookasideError ? err.code : `other: ${String(err)}`;
  }
  return undefined;
}

describe("parseSourcesFile", () => {
  it("reads Fedora's SHA512 lines, ignoring blank lines and CRLF", () => {
    expect(parseSourcesFile(`SHA512 (busybox) = ${H.toUpperCase()}\r\n\nSHA512 (foo-1.0.tar.gz) = ${H}\n`)).toEqual([
      { file: "busybox", sha512: H },
      { file: "foo-1.0.tar.gz", sha512: H },
    ]);
    expect(parseSourcesFile("")).toEqual([]);
  });

  it("refuses MD5 lines, short hashes, duplicates and other formats", () => {
    expect(code(() => parseSourcesFile(`${"a".repeat(32)}  foo.tar.gz\n`))).toBe("SOURCES_INVALID");
    expect(code(() => parseSourcesFile(`SHA256 (foo) = ${"a".repeat(64)}\n`))).toBe("SOURCES_INVALID");
    expect(code(() => parseSourcesFile(`SHA512 (foo) = abc\n`))).toBe("SOURCES_INVALID");
    expect(code(() => parseSourcesFile(`SHA512 (foo) = ${H}\nSHA512 (foo) = ${H}\n`))).toBe("SOURCES_INVALID");
  });

  it("refuses names that are not one plain path component", () => {
    for (const name of ["../etc/passwd", "a/b", "..", ".", ".hidden", "-rf", "a b", "x\u0000y", "é"]) {
      expect(code(() => parseSourcesFile(`SHA512 (${name}) = ${H}\n`)), name).toBe("SOURCE_UNSAFE");
    }
  });
});

describe("lookasideLocation", () => {
  it("is <base>/<name>/<file>/sha512/<hash>/<file> for a directory and a URL", () => {
    expect(lookasideLocation("/srv/lookaside/rpms", "busybox", { file: "busybox", sha512: H })).toBe(`/srv/lookaside/rpms/busybox/busybox/sha512/${H}/busybox`);
    expect(lookasideLocation("https://src.example/repo/pkgs/rpms/", "bash", { file: "bash-5.2.tar.gz", sha512: H })).toBe(`https://src.example/repo/pkgs/rpms/bash/bash-5.2.tar.gz/sha512/${H}/bash-5.2.tar.gz`);
    expect(lookasideLocation("file:///srv/l", "c++utils", { file: "a+b~1.tgz", sha512: H })).toBe(`file:///srv/l/c%2B%2Butils/a%2Bb~1.tgz/sha512/${H}/a%2Bb~1.tgz`);
  });

  it("never leaves the store: bad names, files and hashes are refused", () => {
    expect(code(() => lookasideLocation("/srv/l", "bash", { file: "../../x", sha512: H }))).toBe("SOURCE_UNSAFE");
    expect(code(() => lookasideLocation("/srv/l", "bash", { file: "x", sha512: "../../../etc" }))).toBe("SOURCE_UNSAFE");
    expect(() => lookasideLocation("/srv/l", "../bash", { file: "x", sha512: H })).toThrow(/package name/);
    expect(() => lookasideLocation("/srv/l", "a/b", { file: "x", sha512: H })).toThrow(/package name/);
  });
});

describe("distGitLocation", () => {
  it("is <base>/<namespace>/<name>, refusing anything but two plain components", () => {
    expect(distGitLocation("/srv/dist-git", "rpms/bash")).toBe("/srv/dist-git/rpms/bash");
    expect(distGitLocation("https://src.example/", "rpms/bash")).toBe("https://src.example/rpms/bash");
    for (const repo of ["bash", "rpms/../x", "../rpms/bash", "rpms/bash/x", "rpms/-x", "rpms/.git"]) expect(() => distGitLocation("/srv", repo), repo).toThrow();
  });
});

describe("fetchLookaside", () => {
  let dir: string;
  let store: string;
  let dest: string;
  const content = "the busybox binary\n";
  const source = { file: "busybox", sha512: sha(content) };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "atomic-ci-lookaside-"));
    store = join(dir, "store");
    dest = join(dir, "dest");
    await mkdir(join(store, "busybox", "busybox", "sha512", source.sha512), { recursive: true });
    await writeFile(join(store, "busybox", "busybox", "sha512", source.sha512, "busybox"), content);
    await mkdir(dest);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("copies a verified file from a directory or a file:// store", async () => {
    for (const base of [store, pathToFileURL(store).href]) {
      const written = await fetchLookaside({ base, name: "busybox", sources: [source], dest });
      expect(written).toEqual([join(dest, "busybox")]);
      expect(await readFile(join(dest, "busybox"), "utf8")).toBe(content);
    }
  });

  it("replaces a symlink of the same name instead of writing through it", async () => {
    const victim = join(dir, "victim");
    await writeFile(victim, "keep me");
    await rm(join(dest, "busybox"), { force: true });
    await symlink(victim, join(dest, "busybox"));
    await fetchLookaside({ base: store, name: "busybox", sources: [source], dest });
    expect(await readFile(victim, "utf8")).toBe("keep me");
    expect(await readFile(join(dest, "busybox"), "utf8")).toBe(content);
  });

  it("says which failures are the change's: a missing file is, a corrupt store is not", async () => {
    const missing = await fetchLookaside({ base: store, name: "busybox", sources: [{ file: "busybox", sha512: H }], dest }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "SOURCE_MISSING", changeAtFault: true });
    await mkdir(join(store, "busybox", "busybox", "sha512", H), { recursive: true });
    await writeFile(join(store, "busybox", "busybox", "sha512", H, "busybox"), "not x");
    const corrupt = await fetchLookaside({ base: store, name: "busybox", sources: [{ file: "busybox", sha512: H }], dest }).catch((e: unknown) => e);
    expect(corrupt).toMatchObject({ code: "SOURCE_MISMATCH", changeAtFault: false });
    const large = await fetchLookaside({ base: store, name: "busybox", sources: [source], dest, maxBytes: 4 }).catch((e: unknown) => e);
    expect(large).toMatchObject({ code: "SOURCE_TOO_LARGE" });
  });

  it("reads a sources file, but not through a symlink", async () => {
    const checkout = join(dir, "checkout");
    await mkdir(checkout);
    expect(await readSourcesFile(checkout)).toEqual([]);
    await writeFile(join(checkout, "sources"), `SHA512 (busybox) = ${source.sha512}\n`);
    expect(await readSourcesFile(checkout)).toEqual([source]);
    await rm(join(checkout, "sources"));
    await symlink("/etc/hostname", join(checkout, "sources"));
    await expect(readSourcesFile(checkout)).rejects.toMatchObject({ code: "SOURCES_INVALID" });
  });
});
