import { describe, expect, it } from "vitest";
import { changeUrlRef, parseDependsOn } from "./depends-on.js";

const REV = "0123456789abcdef0123456789abcdef01234567";

describe("Depends-On footers", () => {
  it("accept commit and pull-request URLs, on any forge host", () => {
    const message = `Fix it\n\nDepends-On: https://src.fedoraproject.org/rpms/glibc/c/${REV}\ndepends-on:  http://forge.test/rpms/bash/pull-request/12 \nDepends-On: https://example.org/not/a/change\n`;
    expect(parseDependsOn(message)).toEqual({ refs: [`commit:rpms/glibc@${REV}`, "pr:rpms/bash#12"], unparsed: ["https://example.org/not/a/change"] });
  });

  it("refuse short revs, other schemes and text that is not a footer line", () => {
    expect(changeUrlRef("https://src.fedoraproject.org/rpms/glibc/c/0123abc")).toBeUndefined();
    expect(changeUrlRef(`ftp://src.fedoraproject.org/rpms/glibc/c/${REV}`)).toBeUndefined();
    expect(parseDependsOn(`see Depends-On: https://src.fedoraproject.org/rpms/glibc/c/${REV}`).refs).toEqual([]);
  });
});
