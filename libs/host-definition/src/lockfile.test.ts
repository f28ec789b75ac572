import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeDir, rejectedIssues, removeDirs, thrownIssues } from "./definition.test-helper.js";
import { loadLockfile, loadLockfiles, mergeLockfiles, parseLockfile, serializeLockfile, type Lockfile } from "./lockfile.js";

afterEach(removeDirs);

const DIGEST = `sha256:${"ab".repeat(32)}`;

// As rpm-ostree writes it (two-space JSON, keys sorted), so parse + serialize is the identity.
const WRITTEN = `{
  "metadata": {
    "generated": "2025-11-20T10:12:54Z",
    "rpmmd_repos": {
      "fedora": {
        "generated": "2024-10-24T13:55:59Z"
      },
      "updates": {
        "generated": "2025-11-20T01:40:12Z"
      }
    }
  },
  "packages": {
    "NetworkManager": {
      "digest": "${DIGEST}",
      "evra": "1:1.48.10-2.fc41.x86_64"
    },
    "dracut": {
      "evr": "053-5.fc34"
    },
    "libstdc++": {
      "evra": "14.2.1-3.fc41.x86_64"
    }
  }
}
`;

describe("parseLockfile", () => {
  it("reads packages with evra or evr, digests and metadata", () => {
    const lock = parseLockfile(WRITTEN);
    expect(lock.packages).toEqual(
      new Map([
        ["NetworkManager", { evra: "1:1.48.10-2.fc41.x86_64", digest: DIGEST }],
        ["dracut", { evr: "053-5.fc34" }],
        ["libstdc++", { evra: "14.2.1-3.fc41.x86_64" }],
      ]),
    );
    expect(lock.metadata).toEqual({
      generated: "2025-11-20T10:12:54Z",
      rpmmdRepos: new Map([
        ["fedora", { generated: "2024-10-24T13:55:59Z" }],
        ["updates", { generated: "2025-11-20T01:40:12Z" }],
      ]),
    });
  });

  it("reports every problem with its key", () => {
    const text = JSON.stringify({
      metadata: { generated: "yesterday", extra: 1 },
      packages: {
        "foo;rm -rf /": { evr: "1-1" },
        "$(id)": { evr: "1-1" },
        "foo bar": { evr: "1-1" },
        "foo\nbar": { evr: "1-1" },
        both: { evr: "1-1", evra: "1-1.noarch" },
        neither: { digest: DIGEST },
        badarch: { evra: "1.0-1.fc39" },
        shell: { evr: "1.0-1;reboot" },
        digest: { evr: "1-1", digest: "md5:abc" },
        extra: { evr: "1-1", metadata: {} },
      },
      "source-packages": {},
    });
    const keys = thrownIssues(() => parseLockfile(text, "manifest-lock.x86_64.json")).map((i) => `${i.file}: ${i.key}`);
    expect(keys).toEqual([
      "manifest-lock.x86_64.json: source-packages",
      "manifest-lock.x86_64.json: packages.foo;rm -rf /",
      "manifest-lock.x86_64.json: packages.$(id)",
      "manifest-lock.x86_64.json: packages.foo bar",
      "manifest-lock.x86_64.json: packages.foo\nbar",
      "manifest-lock.x86_64.json: packages.both",
      "manifest-lock.x86_64.json: packages.neither",
      "manifest-lock.x86_64.json: packages.badarch.evra",
      "manifest-lock.x86_64.json: packages.shell.evr",
      "manifest-lock.x86_64.json: packages.digest.digest",
      "manifest-lock.x86_64.json: packages.extra.metadata",
      "manifest-lock.x86_64.json: metadata.extra",
      "manifest-lock.x86_64.json: metadata.generated",
    ]);
  });

  it("never lets a name forge a line of the error message", () => {
    const error = (() => {
      try {
        parseLockfile(JSON.stringify({ packages: { "x\n  manifest-lock.json: packages: fine": { evr: "1-1" } } }));
      } catch (err) {
        return err as Error;
      }
      throw new Error("expected an error");
    })();
    expect(error.message.split("\n")).toEqual([
      "invalid host definition (1 problem):",
      expect.stringMatching(/^ {2}manifest-lock\.json: "packages\.x\\n {2}manifest-lock\.json: packages: fine": /) as string,
    ]);
  });

  it("requires packages and a JSON object", () => {
    expect(thrownIssues(() => parseLockfile("{}"))).toEqual([{ file: "manifest-lock.json", key: "packages", message: "required" }]);
    expect(thrownIssues(() => parseLockfile("[]"))[0]).toMatchObject({ key: "(file)" });
    expect(thrownIssues(() => parseLockfile("{"))[0]?.message).toMatch(/^invalid JSON/);
  });

  it("keeps a package called __proto__ as an ordinary entry", () => {
    const lock = parseLockfile('{"packages": {"__proto__": {"evr": "1-1"}}}');
    expect(lock.packages.get("__proto__")).toEqual({ evr: "1-1" });
    expect(serializeLockfile(lock)).toContain('"__proto__": {');
  });
});

describe("serializeLockfile", () => {
  it("round-trips byte for byte", () => {
    expect(serializeLockfile(parseLockfile(WRITTEN))).toBe(WRITTEN);
  });

  it("sorts keys whatever the insertion order, and ends with a newline", () => {
    const lock: Lockfile = {
      packages: new Map([
        ["zlib", { evra: "1.3-1.x86_64", digest: DIGEST }],
        ["7zip", { evr: "24.08-1.fc41" }],
        ["123", { evr: "1-1" }],
        ["Abc", { evr: "1-1" }],
      ]),
    };
    const text = serializeLockfile(lock);
    expect(text).toBe(
      `{\n  "packages": {\n    "123": {\n      "evr": "1-1"\n    },\n    "7zip": {\n      "evr": "24.08-1.fc41"\n    },\n    "Abc": {\n      "evr": "1-1"\n    },\n    "zlib": {\n      "digest": "${DIGEST}",\n      "evra": "1.3-1.x86_64"\n    }\n  }\n}\n`,
    );
    expect(serializeLockfile(parseLockfile(text))).toBe(text);
  });

  it("refuses to write an invalid lock built in code", () => {
    const lock: Lockfile = { packages: new Map([["foo", { evra: "1.0-1 $(id).x86_64" }]]) };
    expect(thrownIssues(() => serializeLockfile(lock))[0]).toMatchObject({ key: "packages.foo.evra" });
  });
});

describe("mergeLockfiles", () => {
  it("lets later locks win per package name, keeping the first metadata", () => {
    const base = parseLockfile(WRITTEN);
    const later = parseLockfile('{"packages": {"dracut": {"evr": "054-1.fc34"}, "vim": {"evr": "9.1-1.fc41"}}}');
    const last = parseLockfile('{"packages": {"vim": {"evr": "9.2-1.fc41"}}}');
    const merged = mergeLockfiles([base, later, last]);
    expect(Object.fromEntries(merged.packages)).toEqual({
      NetworkManager: { evra: "1:1.48.10-2.fc41.x86_64", digest: DIGEST },
      dracut: { evr: "054-1.fc34" },
      "libstdc++": { evra: "14.2.1-3.fc41.x86_64" },
      vim: { evr: "9.2-1.fc41" },
    });
    expect(merged.metadata?.generated).toBe("2025-11-20T10:12:54Z");
    // The inputs are not changed.
    expect(base.packages.get("dracut")).toEqual({ evr: "053-5.fc34" });
  });
});

describe("loadLockfile(s)", () => {
  it("loads and merges files in order, naming files relative to the root", async () => {
    const dir = await makeDir({
      "manifest-lock.x86_64.json": WRITTEN,
      "locks/extra.json": '{"packages": {"dracut": {"evr": "055-1.fc34"}}}',
      "locks/bad.json": '{"packages": {"$(id)": {"evr": "1-1"}}}',
    });
    const merged = await loadLockfiles([join(dir, "manifest-lock.x86_64.json"), join(dir, "locks/extra.json")], { root: dir });
    expect(merged.packages.get("dracut")).toEqual({ evr: "055-1.fc34" });
    expect(await rejectedIssues(loadLockfile(join(dir, "locks/bad.json"), { root: dir }))).toEqual([
      { file: "locks/bad.json", key: "packages.$(id)", message: expect.stringContaining("not a valid RPM package name") as string },
    ]);
  });

  it("refuses a lockfile over 1 MiB", async () => {
    const dir = await makeDir({});
    const path = join(dir, "big.json");
    await writeFile(path, `{"packages": {}, "x": "${"x".repeat(1_048_576)}"}`);
    expect(await rejectedIssues(loadLockfile(path, { root: dir }))).toEqual([{ file: "big.json", key: "(file)", message: "is larger than 1048576 bytes" }]);
  });
});
