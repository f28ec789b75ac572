import { describe, expect, it } from "vitest";
import { DefinitionError } from "./errors.js";
import { nextAutomaticVersion, renderVersionPrefix, versionPrefixProblem } from "./version.js";

const NOV_26 = new Date("2026-11-26T23:59:59Z");
const NOV_27 = new Date("2026-11-27T00:00:01Z");

/** Compose `count` commits in a row, each seeing the previous one's version. */
function progression(prefix: string, dates: Date[]): string[] {
  const versions: string[] = [];
  for (const now of dates) versions.push(nextAutomaticVersion(prefix, { now, previous: versions.at(-1) }));
  return versions;
}

describe("nextAutomaticVersion", () => {
  it("with a date tag: .0 first, counts up the same day, resets on a new date", () => {
    expect(progression("41.<date:%Y%m%d>.dev", [NOV_26, NOV_26, NOV_26, NOV_27, NOV_27])).toEqual([
      "41.20261126.dev.0",
      "41.20261126.dev.1",
      "41.20261126.dev.2",
      "41.20261127.dev.0",
      "41.20261127.dev.1",
    ]);
  });

  it("without a date tag: the prefix itself first, then .1, .2 (rpm-ostree's table)", () => {
    expect(progression("22", [NOV_26, NOV_26, NOV_26])).toEqual(["22", "22.1", "22.2"]);
    expect(progression("22.1", [NOV_26, NOV_26, NOV_26])).toEqual(["22.1", "22.1.1", "22.1.2"]);
  });

  it("follows rpm-ostree's table for a date inside the prefix", () => {
    const y2019 = new Date("2019-06-01T00:00:00Z");
    const y2020 = new Date("2020-06-01T00:00:00Z");
    expect(progression("22.<date:%Y>", [y2019, y2019, y2020])).toEqual(["22.2019.0", "22.2019.1", "22.2020.0"]);
    expect(progression("22.<date:%Y>.1", [y2019, y2019, y2020])).toEqual(["22.2019.1.0", "22.2019.1.1", "22.2020.1.0"]);
  });

  it("uses the UTC date", () => {
    expect(nextAutomaticVersion("<date:%Y-%m-%d>", { now: new Date("2026-11-26T23:30:00-05:00") })).toBe("2026-11-27.0");
  });

  it("starts over when the previous version is not this prefix's", () => {
    expect(nextAutomaticVersion("41.<date:%Y%m%d>.dev", { now: NOV_26, previous: "40.20261126.dev.7" })).toBe("41.20261126.dev.0");
    expect(nextAutomaticVersion("22", { now: NOV_26, previous: "221" })).toBe("22");
    expect(nextAutomaticVersion("22", { now: NOV_26, previous: "22-3" })).toBe("22");
  });

  it("reads the counter like strtoull: leading digits, none as 0", () => {
    expect(nextAutomaticVersion("22", { now: NOV_26, previous: "22.9" })).toBe("22.10");
    expect(nextAutomaticVersion("22", { now: NOV_26, previous: "22.41.extra" })).toBe("22.42");
    expect(nextAutomaticVersion("22", { now: NOV_26, previous: "22.x" })).toBe("22.1");
    expect(nextAutomaticVersion("22", { now: NOV_26, previous: "22.99999999999999999999" })).toBe("22.100000000000000000000");
  });

  it("renders the supported conversions", () => {
    const at = new Date("2026-02-03T04:05:06Z");
    expect(renderVersionPrefix("<date:%Y_%y_%m_%d_%H_%M_%S_%j_%%>", at)).toEqual({ rendered: "2026_26_02_03_04_05_06_034_%", dated: true });
  });
});

describe("versionPrefixProblem", () => {
  it("accepts date tags with supported conversions", () => {
    expect(versionPrefixProblem("41.<date:%Y%m%d>.dev")).toBeUndefined();
    expect(versionPrefixProblem("22")).toBeUndefined();
  });

  it.each([
    ["41.<date:%Q>", "unsupported date conversion %Q"],
    ["41.<time:%H>", "unknown tag <time:%H>"],
    ["41.<date:%Y", "outside a <date:FORMAT> tag"],
    ["41 dev", "whitespace"],
    ["", "must not be empty"],
  ])("refuses %j", (prefix, why) => {
    expect(versionPrefixProblem(prefix)).toContain(why);
    expect(() => nextAutomaticVersion(prefix, { now: NOV_26 })).toThrow(DefinitionError);
  });
});
