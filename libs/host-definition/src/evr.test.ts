import { describe, expect, it } from "vitest";
import { thrownIssues } from "./definition.test-helper.js";
import { DefinitionError } from "./errors.js";
import { assertEvra, assertNevra, formatEvr, formatEvra, formatNevra, parseEvr, parseEvra, parseNevra } from "./evr.js";
import { assertPackageName, isValidPackageName } from "./rpm-names.js";

// Strings that must never reach a command line as a package name or version.
const HOSTILE = ["foo;rm -rf /", "$(id)", "`id`", "foo bar", "foo\nbar", "foo|cat", "foo&", "foo>x", "'foo'", '"foo"', "-rf", "--help", "..", "foo*", "a\u0000b"];

describe("package names", () => {
  it("accepts real RPM names", () => {
    for (const name of ["kernel", "NetworkManager-wifi", "libstdc++", "python3.12", "389-ds-base", "perl-Test-Simple", "glibc.i686", "__proto__"]) {
      expect(isValidPackageName(name), name).toBe(true);
    }
  });

  it.each(HOSTILE)("refuses %j", (name) => {
    expect(isValidPackageName(name)).toBe(false);
    const [issue] = thrownIssues(() => assertPackageName(name));
    expect(issue).toMatchObject({ file: "(input)", key: "name" });
    // The value is shown JSON-quoted, so a newline cannot forge a line of the message.
    expect(issue?.message).toContain(JSON.stringify(name));
  });

  it("reports where the caller says", () => {
    expect(thrownIssues(() => assertPackageName("$(id)", { file: "cli", key: "NAME" }))[0]).toMatchObject({ file: "cli", key: "NAME" });
  });

  it("refuses empty and overlong names", () => {
    expect(isValidPackageName("")).toBe(false);
    expect(isValidPackageName("a".repeat(256))).toBe(false);
    expect(isValidPackageName("a".repeat(255))).toBe(true);
  });
});

describe("EVR and EVRA", () => {
  it("parses with and without epoch", () => {
    expect(parseEvr("053-5.fc34")).toEqual({ version: "053", release: "5.fc34" });
    expect(parseEvra("1:1.32.12-2.fc35.x86_64")).toEqual({ epoch: 1, version: "1.32.12", release: "2.fc35", arch: "x86_64" });
    expect(parseEvra("2.22.0-2.fc42.noarch")).toEqual({ version: "2.22.0", release: "2.fc42", arch: "noarch" });
    expect(parseEvr("1.0~rc1^git3-0.1.fc40")).toEqual({ version: "1.0~rc1^git3", release: "0.1.fc40" });
  });

  it("parses a full NEVRA, the name keeping its own dashes", () => {
    expect(parseNevra("java-17-openjdk-1:17.0.9.0.9-3.fc39.x86_64")).toEqual({
      name: "java-17-openjdk",
      epoch: 1,
      version: "17.0.9.0.9",
      release: "3.fc39",
      arch: "x86_64",
    });
  });

  it.each([
    ["1.0", "exactly one -"],
    ["1.0-1-2", "exactly one -"],
    ["x:1.0-1", "epoch"],
    ["1.0 -1", "version"],
    ["1.0-1;id", "release"],
    ["$(id)-1", "version"],
    ["1.0-", "release must not be empty"],
    ["-1", "version must not be empty"],
    ["1.0-1\n", "release"],
  ])("refuses the EVR %j", (text, why) => {
    expect(thrownIssues(() => parseEvr(text))[0]?.message).toContain(why);
  });

  it("refuses an EVRA with an unknown or missing arch", () => {
    expect(thrownIssues(() => parseEvra("1.0-1.fc39"))[0]?.message).toContain('unknown architecture "fc39"');
    expect(thrownIssues(() => assertEvra("1.0-1"))[0]).toMatchObject({ key: "evra" });
    expect(thrownIssues(() => assertEvra("1.0-1.x86_64;reboot"))[0]?.message).toContain("unknown architecture");
  });

  it("refuses a NEVRA with a hostile name", () => {
    expect(thrownIssues(() => assertNevra("foo;rm-1.0-1.x86_64"))[0]?.message).toContain("not a valid RPM package name");
    expect(thrownIssues(() => assertNevra("kernel-6.9.11-100.fc39"))[0]?.message).toContain("unknown architecture");
  });

  it("formats back what it parsed", () => {
    for (const text of ["1:1.32.12-2.fc35.x86_64", "2.22.0-2.fc42.noarch", "0:1-1.aarch64"]) expect(formatEvra(parseEvra(text))).toBe(text);
    expect(formatEvr({ epoch: 2, version: "1.0", release: "3" })).toBe("2:1.0-3");
    expect(formatNevra({ name: "kernel", version: "6.9.11", release: "100.fc39", arch: "x86_64" })).toBe("kernel-6.9.11-100.fc39.x86_64");
  });

  it("refuses to format parts that would not read back", () => {
    expect(() => formatEvr({ version: "1.0-2", release: "1" })).toThrow(DefinitionError);
    expect(() => formatEvra({ version: "1.0", release: "1 $(id)", arch: "x86_64" })).toThrow(DefinitionError);
    expect(() => formatEvr({ epoch: -1, version: "1", release: "1" })).toThrow(DefinitionError);
    expect(() => formatNevra({ name: "-x", version: "1", release: "1", arch: "noarch" })).toThrow(DefinitionError);
  });
});
