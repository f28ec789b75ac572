import { describe, expect, it } from "vitest";
import { globMatch } from "./glob.js";

describe("globMatch (fnmatch)", () => {
  it.each<[string, string, boolean]>([
    ["fedora-*", "fedora-26", true],
    ["fedora-*", "epel-7", false],
    ["fedora-2?", "fedora-26", true],
    ["fedora-2?", "fedora-260", false],
    ["fedora-[23]*", "fedora-31", true],
    ["fedora-[!23]*", "fedora-31", false],
    ["f.26", "fx26", false],
    ["kernel*", "kernel-tools", true],
  ])("%s ~ %s = %s", (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });
});
