import { describe, expect, it } from "vitest";
import { bwrapArgs } from "./sandbox.js";
import { parseChecks, verdict } from "./verdict.js";

describe("verdict", () => {
  it("needs exit 0 and no FAIL/ERROR line to pass", () => {
    expect(verdict(0, parseChecks("PASS a/b\nnoise\nPASS a/c\n"))).toEqual({ outcome: "passed" });
    expect(verdict(0, parseChecks("PASS a/b\nFAIL a/c\n"))).toEqual({ outcome: "failed", reason: "FAIL a/c" });
    expect(verdict(1, [])).toEqual({ outcome: "failed", reason: "exit code 1" });
  });
});

describe("bwrap arguments", () => {
  it("binds the tree read-only, unshares everything and drops capabilities", () => {
    const args = bwrapArgs({ tree: "/t", links: new Map([["bin", "usr/bin"]]), testDir: "/r/src", artifactsDir: "/r/a", env: { B: "2", A: "1" }, command: ["/usr/bin/sh", "-c", "x"], statusFd: 3 });
    const text = args.join(" ");
    expect(text).toContain("--ro-bind /t/usr /usr --ro-bind /t/usr/etc /etc --symlink usr/bin /bin");
    expect(text).toContain("--unshare-all --unshare-user --disable-userns --uid 0 --gid 0 --cap-drop ALL");
    expect(text).toContain("--clearenv --setenv A 1 --setenv B 2 -- /usr/bin/sh -c x");
    expect(text).not.toMatch(/--bind \/t/);
  });
});
