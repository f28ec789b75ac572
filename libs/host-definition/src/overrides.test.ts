import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeDir, rejectedIssues, removeDirs, thrownIssues } from "./definition.test-helper.js";
import { parseLockfile } from "./lockfile.js";
import { applyOverrides, loadOverrides, parseOverrides } from "./overrides.js";

afterEach(removeDirs);

const OVERRIDES = `packages:
  dracut:
    evr: 053-5.fc34
    metadata: {type: pin, reason: https://tracker.example/issues/842}
  ignition:
    evr: 2.22.0-2.fc42
    metadata: {type: fast-track, bodhi: https://bodhi.example/updates/FEDORA-2025-4b417b05f4}
`;

describe("parseOverrides", () => {
  it("reads pins and fast-tracks", () => {
    expect(parseOverrides(OVERRIDES).packages).toEqual(
      new Map([
        ["dracut", { evr: "053-5.fc34", metadata: { type: "pin", reason: "https://tracker.example/issues/842" } }],
        ["ignition", { evr: "2.22.0-2.fc42", metadata: { type: "fast-track", bodhi: "https://bodhi.example/updates/FEDORA-2025-4b417b05f4" } }],
      ]),
    );
  });

  it("treats an empty file or empty packages as no overrides", () => {
    expect(parseOverrides("").packages.size).toBe(0);
    expect(parseOverrides("# nothing yet\npackages: {}\n").packages.size).toBe(0);
    expect(parseOverrides('{"packages": {}}', "manifest-lock.overrides.json").packages.size).toBe(0);
  });

  it("requires a reason for a pin, naming file and key", () => {
    const text = "packages:\n  dracut:\n    evr: 053-5.fc34\n    metadata: {type: pin}\n";
    expect(thrownIssues(() => parseOverrides(text))).toEqual([
      { file: "manifest-lock.overrides.yaml", key: "packages.dracut.metadata.reason", message: "required for a pin: say why the package is held (an issue URL)" },
    ]);
    const blank = "packages:\n  dracut:\n    evr: 053-5.fc34\n    metadata: {type: pin, reason: '  '}\n";
    expect(thrownIssues(() => parseOverrides(blank))[0]).toMatchObject({ key: "packages.dracut.metadata.reason", message: "must be a non-empty string" });
  });

  it("reports every other problem", () => {
    const text = `packages:
  a: {evr: 1-1}
  b: {evr: 1-1, metadata: {type: hold, reason: x}}
  c: {evr: 1-1, metadata: {type: fast-track, bodhi: 'javascript:alert(1)'}}
  d: {evr: 1-1, metadata: {type: pin, reason: x, bodhi: https://b.example}}
  e: {evra: 1-1, metadata: {type: pin, reason: x}}
  'x;id': {evr: 1-1, metadata: {type: pin, reason: x}}
other: 1
`;
    expect(thrownIssues(() => parseOverrides(text)).map((i) => i.key)).toEqual([
      "other",
      "packages.a.metadata",
      "packages.b.metadata.type",
      "packages.c.metadata.bodhi",
      "packages.d.metadata.bodhi",
      "packages.e.evra",
      "packages.x;id",
    ]);
  });

  it("loads from disk, naming the file relative to the root", async () => {
    const dir = await makeDir({ "manifest-lock.overrides.yaml": "packages:\n  dracut: {evr: 053-5.fc34, metadata: {type: pin}}\n" });
    expect((await rejectedIssues(loadOverrides(join(dir, "manifest-lock.overrides.yaml"), { root: dir })))[0]).toMatchObject({
      file: "manifest-lock.overrides.yaml",
      key: "packages.dracut.metadata.reason",
    });
  });
});

describe("applyOverrides", () => {
  const lockWith = (entries: Record<string, unknown>) => parseLockfile(JSON.stringify({ packages: entries }));
  const fastTrack = (evr: string) => parseOverrides(`packages:\n  ignition: {evr: ${evr}, metadata: {type: fast-track}}\n`);

  it("applies a fast-track while the lockfile is older", () => {
    const lock = lockWith({ ignition: { evra: "2.21.0-1.fc42.x86_64", digest: `sha256:${"0".repeat(64)}` }, vim: { evr: "9.1-1.fc42" } });
    const { lock: effective, droppedFastTracks } = applyOverrides(lock, fastTrack("2.22.0-2.fc42"));
    expect(Object.fromEntries(effective.packages)).toEqual({ ignition: { evr: "2.22.0-2.fc42" }, vim: { evr: "9.1-1.fc42" } });
    expect(droppedFastTracks).toEqual([]);
  });

  it("drops a fast-track once the lockfile has that version or a newer one", () => {
    for (const locked of ["2.22.0-2.fc42.x86_64", "2.22.0-10.fc42.x86_64", "1:1.0-1.fc42.x86_64"]) {
      const lock = lockWith({ ignition: { evra: locked } });
      const { lock: effective, droppedFastTracks } = applyOverrides(lock, fastTrack("2.22.0-2.fc42"));
      expect(effective.packages.get("ignition"), locked).toEqual({ evra: locked });
      expect(droppedFastTracks).toEqual([{ name: "ignition", fastTrack: "2.22.0-2.fc42", locked }]);
    }
  });

  it("adds a fast-track of a package the lockfile does not have", () => {
    const { lock, droppedFastTracks } = applyOverrides(lockWith({}), fastTrack("2.22.0-2.fc42"));
    expect(lock.packages.get("ignition")).toEqual({ evr: "2.22.0-2.fc42" });
    expect(droppedFastTracks).toEqual([]);
  });

  it("lets pins win, even over a newer locked version", () => {
    const lock = lockWith({ dracut: { evr: "060-1.fc42" }, ignition: { evr: "2.21.0-1.fc42" } });
    const { lock: effective, droppedFastTracks } = applyOverrides(lock, parseOverrides(OVERRIDES));
    expect(Object.fromEntries(effective.packages)).toEqual({ dracut: { evr: "053-5.fc34" }, ignition: { evr: "2.22.0-2.fc42" } });
    expect(droppedFastTracks).toEqual([]);
    // The lock given is left as it was.
    expect(lock.packages.get("dracut")).toEqual({ evr: "060-1.fc42" });
  });
});
