import { describe, expect, it } from "vitest";
import { parseEvr } from "./evr.js";
import { compareEvr, rpmvercmp, type Ordering } from "./rpmvercmp.js";

// Every expectation below was checked against rpm 4.18 (`rpm.vercmp` in rpm's Lua), the
// same cases rpm's own test suite uses plus the tilde/caret corner cases.
const CASES: [string, string, Ordering][] = [
  ["1.0", "1.0", 0],
  ["1.0", "2.0", -1],
  ["2.0", "2.0.1", -1],
  ["2.0.1a", "2.0.1", 1],
  ["5.5p1", "5.5p2", -1],
  ["5.5p1", "5.5p10", -1],
  ["10xyz", "10.1xyz", -1],
  ["xyz10", "xyz10.1", -1],
  ["xyz.4", "8", -1],
  ["xyz.4", "2", -1],
  ["5.5p2", "5.6p1", -1],
  ["5.6p1", "6.5p1", -1],
  ["6.0.rc1", "6.0", 1],
  ["10b2", "10a1", 1],
  ["10a2", "10b2", -1],
  ["1.0a", "1.0aa", -1],
  ["10.0001", "10.1", 0],
  ["10.0001", "10.0039", -1],
  ["4.999.9", "5.0", -1],
  ["20101121", "20101122", -1],
  ["2.0", "2_0", 0],
  ["a+", "a_", 0],
  ["+", "_", 0],
  ["1..0", "1.0", 0],
  ["A", "a", -1],
  ["6.9.11", "6.10.0", -1],
  // a letter run is older than a digit run
  ["1.0a", "1.0.1", -1],
  ["1.a", "1.1", -1],
  ["a", "1", -1],
  // ~ sorts before everything, even the end of the string
  ["1.0~rc1", "1.0", -1],
  ["1.0~rc1", "1.0~rc2", -1],
  ["1.0~rc1~git123", "1.0~rc1", -1],
  ["1.0~", "1.0", -1],
  // ^ sorts after the end of the string, before any further run
  ["1.0^", "1.0", 1],
  ["1.0^git1", "1.0", 1],
  ["1.0^git1", "1.0^git2", -1],
  ["1.0^git1", "1.01", -1],
  ["1.0^20160101", "1.0.1", -1],
  ["1.0^20160102", "1.0^20160101^git1", 1],
  ["1.0~rc1^git1", "1.0~rc1", 1],
  ["1.0^git1~pre", "1.0^git1", -1],
  ["1.0^git1", "1.0~rc1", 1],
];

describe("rpmvercmp", () => {
  it.each(CASES)("%s vs %s is %i", (a, b, expected) => {
    expect(rpmvercmp(a, b)).toBe(expected);
    // and the comparison is antisymmetric
    expect(rpmvercmp(b, a)).toBe(0 - expected);
  });
});

describe("compareEvr", () => {
  const cmp = (a: string, b: string): Ordering => compareEvr(parseEvr(a), parseEvr(b));

  it("compares the epoch first, a missing epoch counting as 0", () => {
    expect(cmp("1:1.0-1", "2.0-1")).toBe(1);
    expect(cmp("0:053-5.fc34", "053-5.fc34")).toBe(0);
    expect(cmp("2:1.0-1", "10:0.1-1")).toBe(-1);
  });

  it("then the version, then the release", () => {
    expect(cmp("6.9.11-100.fc39", "6.10.0-1.fc39")).toBe(-1);
    expect(cmp("2.22.0-2.fc42", "2.22.0-1.fc42")).toBe(1);
    expect(cmp("1.0-1.fc39", "1.0-1.fc39.1")).toBe(-1);
    expect(cmp("053-5.fc34", "053-5.fc34")).toBe(0);
  });
});
