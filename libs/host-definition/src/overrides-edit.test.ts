import { describe, expect, it } from "vitest";
import { thrownIssues } from "./definition.test-helper.js";
import { addPin, removeFastTracks, removePin } from "./overrides-edit.js";
import { parseOverrides } from "./overrides.js";

const FILE = `# This file pins packages (type: pin) or fast-tracks them ahead of
# the lockfile (type: fast-track). Keep entries sorted.

packages:
  # held back: the 054 initramfs does not boot on our hardware
  dracut:
    evr: 053-5.fc34
    metadata: {type: pin, reason: https://tracker.example/issues/842}

  ignition:
    evr:   2.22.0-2.fc42    # from bodhi, spacing kept
    metadata:
      type: fast-track
      bodhi: https://bodhi.example/updates/FEDORA-2025-4b417b05f4
      # remove once 2.22 is stable

# end of overrides
`;

describe("addPin", () => {
  it("inserts a new pin in sorted position, leaving every other byte as it was", () => {
    const result = addPin(FILE, { name: "grub2", evr: "1:2.12-5.fc41", reason: "https://tracker.example/issues/900" });
    expect(result).toBe(
      FILE.replace("  ignition:\n", "  grub2:\n    evr: 1:2.12-5.fc41\n    metadata:\n      type: pin\n      reason: https://tracker.example/issues/900\n\n  ignition:\n"),
    );
    expect(parseOverrides(result).packages.get("grub2")).toEqual({ evr: "1:2.12-5.fc41", metadata: { type: "pin", reason: "https://tracker.example/issues/900" } });
  });

  it("appends after the last entry, with the blank line between entries, before the closing comment", () => {
    const result = addPin(FILE, { name: "kernel", evra: "6.11.4-301.fc41.x86_64", reason: "regression: see #12" });
    expect(result).toBe(
      FILE.replace(
        "      # remove once 2.22 is stable\n",
        '      # remove once 2.22 is stable\n\n  kernel:\n    evra: 6.11.4-301.fc41.x86_64\n    metadata:\n      type: pin\n      reason: "regression: see #12"\n',
      ),
    );
    expect(parseOverrides(result).packages.get("kernel")?.metadata).toEqual({ type: "pin", reason: "regression: see #12" });
  });

  it("replaces an existing entry in place, keeping the comment above it", () => {
    const result = addPin(FILE, { name: "dracut", evr: "053-6.fc34", reason: "https://tracker.example/issues/843" });
    expect(result).toBe(
      FILE.replace(
        "    evr: 053-5.fc34\n    metadata: {type: pin, reason: https://tracker.example/issues/842}\n",
        "    evr: 053-6.fc34\n    metadata:\n      type: pin\n      reason: https://tracker.example/issues/843\n",
      ),
    );
  });

  it("turns a fast-track into a pin, taking its comment lines with it", () => {
    const result = addPin(FILE, { name: "ignition", evr: "2.22.0-2.fc42", reason: "hold" });
    expect(result).not.toContain("remove once 2.22 is stable");
    expect(result).toContain("# end of overrides\n");
    expect(parseOverrides(result).packages.get("ignition")?.metadata).toEqual({ type: "pin", reason: "hold" });
  });

  it("starts a file, or a packages map, that has none", () => {
    expect(addPin("", { name: "vim", evr: "9.1-1", reason: "r" })).toBe("packages:\n  vim:\n    evr: 9.1-1\n    metadata:\n      type: pin\n      reason: r\n");
    expect(addPin("# overrides\npackages: {}\n", { name: "vim", evr: "9.1-1", reason: "r" })).toBe(
      "# overrides\npackages:\n  vim:\n    evr: 9.1-1\n    metadata:\n      type: pin\n      reason: r\n",
    );
    expect(addPin("# overrides\npackages:\n# later\n", { name: "vim", evr: "9.1-1", reason: "r" })).toBe(
      "# overrides\npackages:\n  vim:\n    evr: 9.1-1\n    metadata:\n      type: pin\n      reason: r\n# later\n",
    );
  });

  it("appends when the entries are not sorted, at their indentation, without blank lines if they have none", () => {
    const unsorted = "packages:\n    zsh: {evr: 5.9-1, metadata: {type: pin, reason: r}}\n    bash: {evr: 5.2-1, metadata: {type: pin, reason: r}}\n";
    expect(addPin(unsorted, { name: "kernel", evr: "6.11-1", reason: "r" })).toBe(
      `${unsorted}    kernel:\n      evr: 6.11-1\n      metadata:\n        type: pin\n        reason: r\n`,
    );
  });

  it("rewrites a non-empty flow-style packages map as a whole", () => {
    const result = addPin("packages: {bash: {evr: 5.2-1, metadata: {type: pin, reason: r}}}\n", { name: "vim", evr: "9.1-1", reason: "r" });
    expect([...parseOverrides(result).packages.keys()]).toEqual(["bash", "vim"]);
  });

  it("validates the pin before touching the file", () => {
    expect(thrownIssues(() => addPin(FILE, { name: "foo;rm -rf /", evr: "1-1", reason: "r" }))[0]).toMatchObject({ key: "packages.foo;rm -rf /" });
    expect(thrownIssues(() => addPin(FILE, { name: "vim", evr: "$(id)-1", reason: "r" }))[0]).toMatchObject({ key: "packages.vim.evr" });
    expect(thrownIssues(() => addPin(FILE, { name: "vim", evr: "9.1-1", reason: " " }))[0]).toMatchObject({ key: "packages.vim.metadata.reason" });
    expect(thrownIssues(() => addPin(FILE, { name: "vim", evr: "9.1-1", reason: "a\nb" }))[0]).toMatchObject({ key: "packages.vim.metadata.reason" });
    expect(thrownIssues(() => addPin(FILE, { name: "vim", reason: "r" }))[0]).toMatchObject({ message: "needs exactly one of evr and evra" });
  });

  it("refuses to edit an invalid file", () => {
    expect(thrownIssues(() => addPin("packages:\n  a: {evr: 1-1, metadata: {type: pin}}\n", { name: "vim", evr: "9.1-1", reason: "r" }))[0]).toMatchObject({
      key: "packages.a.metadata.reason",
    });
  });

  it("rewrites JSON overrides", () => {
    const result = addPin('{"packages": {}}', { name: "vim", evr: "9.1-1", reason: "r" }, "manifest-lock.overrides.json");
    expect(JSON.parse(result)).toEqual({ packages: { vim: { evr: "9.1-1", metadata: { type: "pin", reason: "r" } } } });
  });
});

describe("removePin and removeFastTracks", () => {
  it("removes a pin with its comment, leaving the rest byte for byte", () => {
    const { text, removed } = removePin(FILE, "dracut");
    expect(removed).toBe(true);
    expect(text).toBe(
      FILE.replace(
        "  # held back: the 054 initramfs does not boot on our hardware\n  dracut:\n    evr: 053-5.fc34\n    metadata: {type: pin, reason: https://tracker.example/issues/842}\n\n",
        "",
      ),
    );
  });

  it("does nothing for an absent name and refuses to unpin a fast-track", () => {
    expect(removePin(FILE, "vim")).toEqual({ text: FILE, removed: false });
    expect(thrownIssues(() => removePin(FILE, "ignition"))[0]).toMatchObject({ key: "packages.ignition.metadata.type", message: expect.stringContaining("is a fast-track") as string });
  });

  it("removes reached fast-tracks only", () => {
    const text = removeFastTracks(FILE, ["ignition", "dracut", "vim"]);
    expect(text).toBe(`${FILE.slice(0, FILE.indexOf("\n  ignition:"))}\n# end of overrides\n`);
    expect([...parseOverrides(text).packages.keys()]).toEqual(["dracut"]);
  });

  it("leaves packages: {} when the last entry goes", () => {
    const single = "# pins\npackages:\n  vim:\n    evr: 9.1-1\n    metadata: {type: pin, reason: r}\n";
    expect(removePin(single, "vim").text).toBe("# pins\npackages: {}\n");
  });
});
