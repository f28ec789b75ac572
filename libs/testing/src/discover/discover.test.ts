import { describe, expect, it } from "vitest";
import { DiscoveryError } from "../model.js";
import { parseDuration } from "./duration.js";
import { fmfLeaves } from "./fmf.js";
import { parseSti } from "./sti.js";
import { parseTmt } from "./tmt.js";

const sti = (content: string) => parseSti(content, { file: "tests/tests.yml", package: "pkg", source: "sti", commit: "c0ffee" });
const tmt = (files: Record<string, string>) => parseTmt(new Map(Object.entries(files)), { package: "pkg", commit: "c0ffee" });

describe("STI subset", () => {
  it("reads the fixture world's shape: role-level atomic tag, simple: {dir, run}", () => {
    const { tests, skipped } = sti(`- hosts: localhost\n  roles:\n    - role: standard-test-basic\n      tags: [atomic]\n      required_packages: [bash]\n      tests:\n        - simple:\n            dir: .\n            run: ./smoke.sh\n`);
    expect(skipped).toEqual([]);
    expect(tests).toEqual([
      { id: "pkg/sti/tests/tests.yml/simple", package: "pkg", source: "sti", name: "simple", dir: "tests", command: ["/usr/bin/sh", "-c", "./smoke.sh"], requires: ["bash"], timeoutMs: 300_000, allowedReruns: 0, environment: {}, commit: "c0ffee", file: "tests/tests.yml", tags: ["atomic"] },
    ]);
  });

  it("takes play-level tags, bare test names and the reruns tag; skips plays not tagged atomic", () => {
    const { tests, skipped } = sti(`- hosts: localhost\n  tags: [classic]\n  roles:\n    - role: standard-test-basic\n      tests: [only-classic]\n- hosts: localhost\n  tags: [atomic, atomic-ci-reruns-2]\n  roles:\n    - role: standard-test-basic\n      tests:\n        - unit\n        - sub: {dir: suite, run: make check}\n`);
    expect(skipped).toEqual(["only-classic"]);
    expect(tests.map((t) => [t.name, t.dir, t.command[2], t.allowedReruns])).toEqual([
      ["unit", "tests/unit", "./runtest.sh", 2],
      ["sub", "tests/suite", "make check", 2],
    ]);
  });

  it("rejects what needs Ansible, naming the file and key", () => {
    expect(() => sti(`- hosts: localhost\n  roles:\n    - role: standard-test-beakerlib\n      tests: [a]\n`)).toThrow("tests/tests.yml: [0].roles[0].role: role \"standard-test-beakerlib\" is not supported");
    expect(() => sti(`- hosts: localhost\n  tasks:\n    - shell: rm -rf /\n`)).toThrow(/\[0\]\.tasks: not supported/);
    expect(() => sti(`- hosts: all\n  roles: []\n`)).toThrow(/\[0\]\.hosts: must be localhost/);
    expect(() => sti(`- hosts: localhost\n  roles:\n    - role: standard-test-basic\n      tags: [atomic]\n      tests:\n        - x: {dir: ../.., run: id}\n`)).toThrow(DiscoveryError);
  });
});

describe("fmf and tmt subset", () => {
  it("inherits keys from main.fmf into child files and /child nodes, with + appending", () => {
    const leaves = fmfLeaves(new Map(Object.entries({
      "main.fmf": "require: [base]\nduration: 1h\n",
      "tests/main.fmf": "require+: [extra]\n/quick:\n  test: ./q.sh\n  duration: 30s\n/slow:\n  test: ./s.sh\n",
      "tests/more/other.fmf": "test: ./o.sh\nrequire: [only]\n",
    })));
    expect(leaves.map((l) => [l.name, l.dir, l.data["require"], l.data["duration"]])).toEqual([
      ["/tests/quick", "tests", ["base", "extra"], "30s"],
      ["/tests/slow", "tests", ["base", "extra"], "1h"],
      ["/tests/more/other", "tests/more", ["only"], "1h"],
    ]);
  });

  it("turns plans × tests into test cases with duration, require and the reruns key", () => {
    const tests = tmt({
      "plans/smoke.fmf": "discover:\n  how: fmf\nexecute:\n  how: tmt\nprepare:\n  how: install\n  package: [jq]\n",
      "tests/main.fmf": "test: ./smoke.sh\nrequire: podman\nduration: 2m\nextra-atomic-ci-reruns: 1\nenvironment:\n  MODE: quick\n",
    });
    expect(tests).toEqual([
      { id: "pkg/tmt/plans/smoke/tests", package: "pkg", source: "tmt", name: "/tests", dir: "tests", command: ["/usr/bin/sh", "-c", "./smoke.sh"], requires: ["jq", "podman"], timeoutMs: 120_000, allowedReruns: 1, environment: { MODE: "quick" }, commit: "c0ffee", file: "tests/main.fmf", tags: [] },
    ]);
  });

  it("uses tmt's default plan without plans, and skips disabled tests", () => {
    expect(tmt({ "a/main.fmf": "test: ./a.sh\n", "b/main.fmf": "test: ./b.sh\nenabled: false\n" }).map((t) => t.id)).toEqual(["pkg/tmt/default/plan/a"]);
  });

  it("rejects unsupported plans and keys, naming file and key", () => {
    expect(() => tmt({ "plans/p.fmf": "discover: {how: shell}\nexecute: {how: tmt}\n" })).toThrow("plans/p.fmf: /plans/p.discover.how: only `fmf` is supported");
    expect(() => tmt({ "t/main.fmf": "test: ./t.sh\nadjust: {when: distro == fedora}\n" })).toThrow(/t\/main\.fmf: \/t\.adjust: not supported/);
    expect(() => tmt({ "t/main.fmf": "test: ./t.sh\nrequire-: [x]\n" })).toThrow(/only the `\+` merge suffix/);
  });
});

describe("durations", () => {
  it.each([["5m", 300_000], ["1h", 3_600_000], ["30s", 30_000], ["1h 30m", 5_400_000], ["90", 90_000]])("%s → %d ms", (text, ms) => {
    expect(parseDuration(text, "f")).toBe(ms);
  });
  it("rejects tmt's multiplier and junk", () => {
    expect(() => parseDuration("5m*2", "f")).toThrow(DiscoveryError);
    expect(() => parseDuration("soon", "f")).toThrow(/unsupported duration/);
  });
});
