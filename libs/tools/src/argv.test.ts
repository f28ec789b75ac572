import { describe, expect, it } from "vitest";
import {
  literalMacroValue,
  safeArg,
  safeGitRev,
  safeMacroValue,
  safeRepoPath,
  safeRpmName,
  safeRpmVersion,
  UnsafeArgumentError,
} from "./argv.js";

describe("argument checks", () => {
  it("rejects option-like values and control characters", () => {
    expect(() => safeArg("--eval=%(id)")).toThrow(UnsafeArgumentError);
    expect(() => safeArg("-rf")).toThrow(/starts with '-'/);
    expect(() => safeArg("a\nb")).toThrow(/control character/);
    expect(() => safeArg("a\0b")).toThrow(/control character/);
    expect(() => safeArg("")).toThrow(/empty/);
    expect(safeArg("name with spaces; and $(metacharacters)")).toBe("name with spaces; and $(metacharacters)");
  });

  it("accepts package names rpm accepts and nothing else", () => {
    for (const ok of ["podman", "NetworkManager", "gcc-c++", "python3.12", "libstdc++", "_underscore"]) {
      expect(safeRpmName(ok)).toBe(ok);
    }
    for (const bad of ["-podman", "pod man", "pod;rm", "pod$(id)", ".hidden", "a/b", "x\ny", "é"]) {
      expect(() => safeRpmName(bad), bad).toThrow(UnsafeArgumentError);
    }
  });

  it("keeps versions free of NVR separators", () => {
    expect(safeRpmVersion("5.2.5")).toBe("5.2.5");
    expect(safeRpmVersion("1.0~rc1^git2")).toBe("1.0~rc1^git2");
    expect(() => safeRpmVersion("5.2-1")).toThrow(UnsafeArgumentError);
    expect(() => safeRpmVersion("1 2")).toThrow(UnsafeArgumentError);
  });

  it("accepts commit ids and ref names but not ranges or paths", () => {
    expect(safeGitRev("HEAD~2")).toBe("HEAD~2");
    expect(safeGitRev("f41")).toBe("f41");
    expect(safeGitRev("0123abcd")).toBe("0123abcd");
    for (const bad of ["a..b", "HEAD:file", "--all", "@{upstream}", "refs/heads/x.lock", "x y"]) {
      expect(() => safeGitRev(bad), bad).toThrow(UnsafeArgumentError);
    }
  });

  it("keeps repository paths inside the repository", () => {
    expect(safeRepoPath("tests/tests.yml")).toBe("tests/tests.yml");
    for (const bad of ["/etc/passwd", "../x", "a/../../b", "a//b", "-x"]) {
      expect(() => safeRepoPath(bad), bad).toThrow(UnsafeArgumentError);
    }
  });

  it("escapes % so rpm cannot expand (or run) a literal macro value", () => {
    expect(literalMacroValue("100%(id)")).toBe("100%%(id)");
    expect(() => safeMacroValue("a\nb")).toThrow(UnsafeArgumentError);
  });
});
