// `atomic-ci pin` / `unpin` as an operator runs them: on a clone of the fixture world's host
// definition, each makes one real git commit that changes only the overrides file.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtureWorld } from "../fixture-world/src/index.js";
import { runCli } from "../support/cli.js";

const run = promisify(execFile);
let dir: string;
let clone: string;
const AUTHOR = "Pat Operator <pat@example.org>";
const REASON = "https://pagure.io/atomic-ci/issue/3";

async function git(...args: string[]): Promise<string> {
  const { stdout } = await run("git", ["-C", clone, ...args]);
  return stdout.trim();
}

beforeAll(async () => {
  const world = await buildFixtureWorld();
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-pin-"));
  clone = join(dir, "definition");
  await run("git", ["clone", "--quiet", world.hostDefinition.path, clone]);
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe("atomic-ci pin / unpin", () => {
  it("pin commits the pin with its reason, and only that", async () => {
    const before = await git("rev-parse", "HEAD");
    const result = await runCli(["pin", "podman", "5:5.1.2-1.fc41", "--reason", REASON, "--definition", clone, "--author", AUTHOR]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const head = await git("rev-parse", "HEAD");
    expect(result.stdout).toContain(head);
    expect(await git("rev-parse", "HEAD^")).toBe(before);
    expect(await git("log", "-1", "--format=%an <%ae>%n%s")).toBe(`${AUTHOR}\npin podman to 5:5.1.2-1.fc41: ${REASON}`);
    expect(await git("show", "--format=", "--name-only", "HEAD")).toBe("manifest-lock.overrides.yaml");
    const added = (await git("show", "--format=", "HEAD")).split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++"));
    expect(added.join("\n")).toContain("podman");
    expect(added.join("\n")).toContain("5:5.1.2-1.fc41");
    expect(added.join("\n")).toContain(REASON);
    // The format comment at the top survived the edit.
    expect(await readFile(join(clone, "manifest-lock.overrides.yaml"), "utf8")).toMatch(/^# Overrides applied on top/);
    expect(await git("status", "--porcelain")).toBe("");
  });

  it("pin without --reason is a usage error and commits nothing", async () => {
    const head = await git("rev-parse", "HEAD");
    const result = await runCli(["pin", "podman", "5:5.2.5-1.fc41", "--definition", clone, "--author", AUTHOR]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--reason");
    expect(await git("rev-parse", "HEAD")).toBe(head);
  });

  it("refuses a name with shell metacharacters, clearly, with no commit", async () => {
    const head = await git("rev-parse", "HEAD");
    const result = await runCli(["pin", "foo;rm", "1.0-1", "--reason", REASON, "--definition", clone, "--author", AUTHOR]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"foo;rm" is not a valid RPM package name');
    expect(await git("rev-parse", "HEAD")).toBe(head);
    expect(await git("status", "--porcelain")).toBe("");
  });

  it("refuses a version that is not [epoch:]version-release", async () => {
    const head = await git("rev-parse", "HEAD");
    const result = await runCli(["pin", "podman", "5.1.2", "--reason", REASON, "--definition", clone, "--author", AUTHOR]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("packages.podman.evr");
    expect(await git("rev-parse", "HEAD")).toBe(head);
  });

  it("unpin removes the pin in a second commit", async () => {
    const pinned = await git("rev-parse", "HEAD");
    const result = await runCli(["unpin", "podman", "--definition", clone, "--author", AUTHOR]);
    expect(result.code).toBe(0);
    expect(await git("rev-parse", "HEAD^")).toBe(pinned);
    expect(await git("log", "-1", "--format=%s")).toBe("unpin podman");
    const overrides = await readFile(join(clone, "manifest-lock.overrides.yaml"), "utf8");
    expect(overrides).not.toContain("podman");
    // Back to the file as the world made it.
    expect(await git("diff", "HEAD~2", "HEAD", "--", "manifest-lock.overrides.yaml")).toBe("");
  });

  it("reads the definition from ATOMIC_CI_DEFINITION and fails without one", async () => {
    const viaEnv = await runCli(["unpin", "podman", "--author", AUTHOR], { ATOMIC_CI_DEFINITION: clone });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout).toContain("nothing committed");
    const none = await runCli(["unpin", "podman", "--author", AUTHOR], { ATOMIC_CI_DEFINITION: "" });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--definition");
  });
});
