// The packages of the fixture world as the pipeline meets them: each build's dist-git commit,
// tests and gating.yaml; the broken builds actually broken the way world.json says (proved by
// installing them with dnf and running their dist-git tests in the tree); and real-shaped
// koji and dist-git messages about them. Uses the shared cache (.cache/fixture-world).
import { rm } from "node:fs/promises";
import { join } from "node:path";
import {
  defaultRegistry,
  GitReceive,
  GitReceiveHook,
  KojiBuildStateChange,
  kojiBuildNvr,
  KojiTag,
  normalizeGitReceive,
  validateBody,
} from "@atomic-ci/messages";
import { gitLog, gitShowFile, isToolError } from "@atomic-ci/tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ctx, dnfInstall, policies, runInRoot, tempDir, testsAt } from "./helpers.js";
import { buildFixtureWorld, findBuild, gitReceive, kojiBuildComplete, kojiTag, latestBuild, type World, type WorldBuild } from "./src/index.js";

let world: World;
const cleanup: string[] = [];

beforeAll(async () => {
  world = await buildFixtureWorld();
}, 180_000);

afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

/** Validate a message the way a consumer does: the schema its topic selects. */
function validates(message: { topic: string; body: unknown }, schemaName: string): boolean {
  const schema = defaultRegistry.forTopic(message.topic);
  expect(schema?.name).toBe(schemaName);
  return schema !== undefined && validateBody(schema, message.body).ok;
}

/** Install `packages` (NEVRs) with dnf into a fresh root and run `build`'s dist-git test there. */
async function testBuildWith(build: WorldBuild, packages: string[]): Promise<{ code: number; stdout: string }> {
  const root = await tempDir("root");
  const tests = await testsAt(build.distGit.path, build.distGit.commit);
  cleanup.push(root, tests);
  await dnfInstall(world, root, ["filesystem", ...packages], { repos: ["stable", "candidates"] });
  return runInRoot(root, tests);
}

describe("dist-git", () => {
  it("has one commit per version, each build pointing at its own", async () => {
    for (const pkg of world.packages) {
      const log = await gitLog(pkg.distGit, ctx);
      const builds = pkg.builds.map((nvr) => findBuild(world, nvr));
      expect(log.map((entry) => entry.commit).reverse(), pkg.name).toEqual(builds.map((b) => b.distGit.commit));
      for (const build of builds) {
        const spec = await gitShowFile(pkg.distGit, build.distGit.commit, `${pkg.name}.spec`, ctx);
        expect(spec).toContain(`\nVersion:        ${build.version}\n`);
        expect(build.distGit.source).toBe(`git+https://src.fixture.invalid/rpms/${pkg.name}.git#${build.distGit.commit}`);
      }
    }
  });

  it("has a gating.yaml in every repository, requiring the tier0 result unless there are no tests", async () => {
    for (const pkg of world.packages) {
      const [policy] = policies(await gitShowFile(pkg.distGit, "HEAD", "gating.yaml", ctx));
      expect(policy?.tag).toBe("!Policy");
      expect(policy?.value).toMatchObject({ decision_contexts: ["bodhi_update_push_testing"], product_versions: ["fedora-*"] });
      const expected = pkg.tests === "none" ? [] : [{ test_case_name: "fedora-ci.koji-build.tier0.functional" }];
      expect(policy?.value["rules"], pkg.name).toEqual(expected);
    }
  });

  it("stores STI tests for most packages and tmt plans for some", async () => {
    const kinds = new Map(world.packages.map((p) => [p.name, p.tests]));
    expect([...kinds].filter(([, k]) => k === "tmt").map(([n]) => n).sort()).toEqual(["foo-cli", "libfoo", "ostree", "podman", "rpm-ostree"]);
    const sti = parse(await gitShowFile(join(world.distGit.root, "openssh"), "HEAD", "tests/tests.yml", ctx)) as unknown;
    expect(sti).toEqual([
      {
        hosts: "localhost",
        roles: [{ role: "standard-test-basic", tags: ["atomic"], required_packages: ["openssh"], tests: [{ simple: { dir: ".", run: "./smoke.sh" } }] }],
      },
    ]);
    const podman = join(world.distGit.root, "podman");
    expect(await gitShowFile(podman, "HEAD", ".fmf/version", ctx)).toBe("1\n");
    expect(parse(await gitShowFile(podman, "HEAD", "plans/smoke.fmf", ctx))).toMatchObject({ discover: { how: "fmf" }, execute: { how: "tmt" } });
    expect(parse(await gitShowFile(podman, "HEAD", "tests/main.fmf", ctx))).toMatchObject({ test: "./smoke.sh", require: ["podman", "crun"], duration: "5m" });
  });

  it("tags ostree's tmt test image as well (it also runs in the booted qcow2)", async () => {
    expect(parse(await gitShowFile(join(world.distGit.root, "ostree"), "HEAD", "tests/main.fmf", ctx))).toMatchObject({ tag: ["atomic", "image"] });
  });

  it("records a Depends-On footer naming the partner's commit", async () => {
    const rpmOstree = findBuild(world, "rpm-ostree-2024.9-1.fc41");
    const ostree = findBuild(world, "ostree-2024.9-1.fc41");
    const [entry] = await gitLog(rpmOstree.distGit.path, { ...ctx, rev: rpmOstree.distGit.commit, maxCount: 1 });
    expect(entry?.message).toContain(`Depends-On: https://src.fixture.invalid/rpms/ostree/c/${ostree.distGit.commit}`);
    expect(rpmOstree.needs).toEqual([ostree.nvr]);
  });
});

describe("broken on purpose", () => {
  it("every package's tests pass at its stable build (the control)", async () => {
    const root = await tempDir("host");
    cleanup.push(root);
    await dnfInstall(world, root, world.hostDefinition.packages);
    for (const pkg of world.packages.filter((p) => p.tests !== "none")) {
      const build = latestBuild(world, pkg.name, "stable");
      const tests = await testsAt(build.distGit.path, build.distGit.commit);
      cleanup.push(tests);
      const result = await runInRoot(root, tests);
      expect(result, `${build.nvr}: ${result.stdout}`).toMatchObject({ code: 0 });
      expect(result.stdout).toMatch(/^PASS /m);
    }
  });

  it("podman 5.3.0 fails its own tests; 5.2.5 passes the same ones", async () => {
    const broken = findBuild(world, "podman-5.3.0-1.fc41");
    expect(broken.broken?.kind).toBe("own-tests");
    const bad = await testBuildWith(broken, ["podman-5:5.3.0-1.fc41"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("PASS podman/version");
    expect(bad.stdout).toContain("FAIL podman/run-container");
    const good = await testBuildWith(findBuild(world, "podman-5.2.5-1.fc41"), ["podman-5:5.2.5-1.fc41"]);
    expect(good.code).toBe(0);
  });

  it("libfoo 2.0 and foo-cli 2.0 each pass with the other at 1.0, and break together", async () => {
    const lib = (v: string) => findBuild(world, `libfoo-${v}-1.fc41`);
    const cli = (v: string) => findBuild(world, `foo-cli-${v}-1.fc41`);
    const pair = (l: string, c: string) => [`libfoo-${l}-1.fc41`, `foo-cli-${c}-1.fc41`];
    for (const [l, c] of [["1.0", "1.0"], ["2.0", "1.0"], ["1.0", "2.0"]] as const) {
      expect((await testBuildWith(cli(c), pair(l, c))).code, `foo-cli ${c} with libfoo ${l}`).toBe(0);
      expect((await testBuildWith(lib(l), pair(l, c))).code, `libfoo ${l} with foo-cli ${c}`).toBe(0);
    }
    const together = await testBuildWith(cli("2.0"), pair("2.0", "2.0"));
    expect(together.code).toBe(1);
    expect(together.stdout).toContain("FAIL foo-cli/greet");
    expect((await testBuildWith(lib("2.0"), pair("2.0", "2.0"))).code).toBe(0);
    expect(lib("2.0").broken).toMatchObject({ kind: "together", with: ["foo-cli-2.0-1.fc41"] });
  });

  it("NetworkManager 1.48.12 fails to depsolve: nothing provides libndp", async () => {
    const build = findBuild(world, "NetworkManager-1.48.12-1.fc41");
    expect(build.broken).toMatchObject({ kind: "depsolve", missing: "libndp >= 1.9" });
    const root = await tempDir("nm");
    cleanup.push(root);
    const err: unknown = await dnfInstall(world, root, ["NetworkManager-1:1.48.12-1.fc41"], { repos: ["stable", "candidates"], assumeNo: true }).catch(
      (e: unknown) => e,
    );
    expect(isToolError(err, "TOOL_FAILED")).toBe(true);
    expect((err as { stderr: string }).stderr).toContain("nothing provides libndp >= 1.9 needed by NetworkManager-1:1.48.12-1.fc41.x86_64");
    expect(world.broken.map((b) => `${b.nvr} ${b.kind}`).sort()).toEqual([
      "NetworkManager-1.48.12-1.fc41 depsolve",
      "foo-cli-2.0-1.fc41 together",
      "libfoo-2.0-1.fc41 together",
      "podman-5.3.0-1.fc41 own-tests",
    ]);
  });
});

describe("messages", () => {
  it("koji build-complete messages validate and point at the build and its dist-git commit", () => {
    for (const build of world.builds) {
      const message = kojiBuildComplete(build);
      expect(message.topic).toBe("buildsys.build.state.change");
      const body = KojiBuildStateChange.parse(message.body);
      expect(validates(message, "koji_fedoramessaging.build.BuildStateChangeV1")).toBe(true);
      expect(kojiBuildNvr(body)).toBe(build.nvr);
      expect(body).toMatchObject({ new: 1, old: 0, build_id: build.buildId, task_id: build.taskId, epoch: build.epoch });
      expect(body.request?.[0]).toBe(build.distGit.source);
      const rpms = (body.task?.children ?? []).flatMap((t) => (t.result && typeof t.result === "object" ? (t.result.rpms ?? []) : []));
      expect(rpms.map((p) => p.slice(p.lastIndexOf("/") + 1)).sort()).toEqual(build.rpms.map((r) => r.path.slice(r.path.lastIndexOf("/") + 1)).sort());
    }
  });

  it("koji tag messages validate", () => {
    const message = kojiTag(findBuild(world, "podman-5.3.0-1.fc41"));
    expect(KojiTag.parse(message.body)).toMatchObject({ tag: "f41-updates-candidate", name: "podman", version: "5.3.0", release: "1.fc41" });
    expect(validates(message, "koji_fedoramessaging.tag.TagV1")).toBe(true);
    expect(kojiTag(findBuild(world, "podman-5.3.0-1.fc41"), "f41-updates").body.tag_id).toBe(6311);
  });

  it("git.receive for a package commit lists the files it touched, in today's hook form", async () => {
    const build = findBuild(world, "podman-5.3.0-1.fc41");
    const message = await gitReceive(world, "podman", build.distGit.commit, ctx);
    GitReceiveHook.parse(message.body);
    const push = normalizeGitReceive(GitReceive.parse(message.body));
    expect(push).toMatchObject({ repo: "podman", namespace: "rpms", branch: "f41", rev: build.distGit.commit, summary: "Update to 5.3.0" });
    expect(push.files).toEqual(["podman.spec"]);
    expect(message.body.commit.patch).toContain("+Version:        5.3.0");
    expect(validates(message, "fedora_messaging_git_hook.commit.v1")).toBe(true);
    const libfoo = await gitReceive(world, "libfoo", findBuild(world, "libfoo-2.0-1.fc41").distGit.commit, ctx);
    expect(normalizeGitReceive(libfoo.body).files).toEqual(["libfoo.spec", "tests/smoke.sh"]);
  });

  it("git.receive for the host definition names every file of its first commit", async () => {
    const message = await gitReceive(world, world.hostDefinition.name, world.hostDefinition.commit, ctx);
    const push = normalizeGitReceive(GitReceive.parse(message.body));
    expect(push.files).toEqual(expect.arrayContaining(["fedora-atomic-host.yaml", "manifest-lock.x86_64.json", "policies/compose-gate.yaml", "tests/tests.yml"]));
    expect(push).toMatchObject({ namespace: null, repo: "fedora-atomic", branch: "f41" });
    expect(message.body.commit.stats.total).toMatchObject({ files: push.files.length });
  });
});
