// Key-container tests on the composed host: the fixture world's OCI image layouts, its
// definition's containers.yaml, a real compose checked out by ostree and real bwrap.
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Composed } from "@atomic-ci/compose";
import type { HandlerContext } from "@atomic-ci/bus";
import { ComposeComplete } from "@atomic-ci/messages";
import { TestRunner, testRunnerConfigSchema } from "@atomic-ci/test-runner";
import { blobPath, discoverContainerTests, MemoryResultsStore, runContainerTest, TreeCache, type ContainerTestCase, type ContainerRunOptions } from "@atomic-ci/testing";
import { buildFixtureWorld, writeContainerImages, type FixtureWorld } from "../fixture-world/src/index.js";
import { cleanup, composeWorld, ctx, scratch } from "./support.js";

let world: FixtureWorld;
let base: string;
let repo: string;
let trees: TreeCache;
let stable: Composed;
let toolbox: ContainerTestCase;

beforeAll(async () => {
  world = await buildFixtureWorld();
  base = await scratch("containers");
  repo = join(base, "repo");
  stable = await composeWorld(world, repo, join(base, "work"));
  trees = new TreeCache(repo, join(base, "trees"), ctx);
  const found = await discoverContainerTests({ repo: world.hostDefinition.path, rev: world.hostDefinition.commit, name: "fedora-atomic", store: world.containers.store }, ctx);
  const [first] = found.tests;
  if (!first) throw new Error("the fixture definition lists no key image");
  toolbox = first;
});
afterAll(cleanup);

function options(extra: Partial<ContainerRunOptions> = {}): ContainerRunOptions {
  return { trees, subject: stable.commit, gitDir: world.hostDefinition.path, workDir: join(base, "runs"), errorRetries: 0, ...extra };
}

/** The key image test with its image or runtime swapped. */
function variant(image: Partial<ContainerTestCase["container"]["image"]>, runtime = toolbox.container.runtime): ContainerTestCase {
  return { ...toolbox, container: { runtime, image: { ...toolbox.container.image, ...image } } };
}

describe("key-container tests on the composed host", () => {
  it("reads the definition's containers.yaml: the toolbox image, pinned by digest, and the runtime commands", () => {
    expect(toolbox).toMatchObject({
      id: "fedora-atomic/host/containers.yaml/toolbox",
      name: "toolbox",
      container: {
        runtime: [["podman", "--version"], ["crun", "--version"], ["conmon", "--version"], ["test", "-f", "/etc/containers/policy.json"]],
        image: { layout: "fixture-toolbox", ref: "41", digest: world.containers.images[0]?.manifestDigest, command: ["greet"], expect: { exitCode: 0, output: world.containers.expectedOutput } },
      },
    });
  });

  it("the world's layouts are built deterministically (same digests again), so the cache key holds", async () => {
    const again = await writeContainerImages({ dir: join(base, "again"), root: join(base, "again"), work: join(base, "again-work"), busybox: world.busybox.from, ctx });
    expect(again.world.images.map((i) => i.manifestDigest)).toEqual(world.containers.images.map((i) => i.manifestDigest));
    expect(again.world.broken.map((i) => i.manifestDigest)).toEqual(world.containers.broken.map((i) => i.manifestDigest));
  });

  it("passes the good image: host runtime, layout, unpack, then the smoke command as the image's user", async () => {
    const run = await runContainerTest(toolbox, options(), ctx);
    expect(run, run.reason).toMatchObject({ outcome: "passed", passedOnRerun: false });
    expect(run.attempts[0]?.checks.map((c) => `${c.result} ${c.name}`)).toEqual([
      "PASS toolbox/runtime/podman --version",
      "PASS toolbox/runtime/crun --version",
      "PASS toolbox/runtime/conmon --version",
      "PASS toolbox/runtime/test -f /etc/containers/policy.json",
      "PASS toolbox/layout",
      "PASS toolbox/unpack",
      "PASS toolbox/smoke",
    ]);
    expect(await readFile(run.logPath, "utf8")).toBe("hello, world from fixture-toolbox (uid 1000)\n");
    const report = JSON.parse(await readFile(join(run.artifactsDir, "container.json"), "utf8")) as { process: Record<string, unknown>; image: Record<string, unknown>; unpack: Record<string, unknown> };
    expect(report.process).toEqual({
      argv: ["/usr/local/bin/smoke", "greet"],
      env: { PATH: "/usr/local/bin:/bin", GREETING_NAME: "world", HOME: "/home/app" },
      uid: 1000,
      gid: 1000,
      cwd: "/home/app",
    });
    expect(report.image["manifestDigest"]).toBe(world.containers.images[0]?.manifestDigest);
    expect(report.unpack).toMatchObject({ layers: 2, whiteouts: 1 });
    expect(await readFile(join(run.artifactsDir, "runtime-1.log"), "utf8")).toContain("podman version");
  });

  it("fails the broken variant, naming the failing check of its smoke command", async () => {
    const broken = world.containers.broken[0];
    if (!broken) throw new Error("no broken image");
    const run = await runContainerTest(variant({ layout: broken.layout, digest: broken.manifestDigest }), options(), ctx);
    expect(run.outcome).toBe("failed");
    expect(run.reason).toBe("smoke: `/usr/local/bin/smoke greet` exited 1, expected 0: FAIL fixture-toolbox/greeting: /etc/fixture-toolbox/greeting is missing");
    expect(run.attempts[0]?.checks.at(-1)).toEqual({ result: "FAIL", name: "toolbox/smoke" });
  });

  it("fails when the image is not the one pinned, or its output is not what is expected", async () => {
    const wrongDigest = await runContainerTest(variant({ digest: world.containers.broken[0]?.manifestDigest ?? "" }), options(), ctx);
    expect(wrongDigest).toMatchObject({ outcome: "failed" });
    expect(wrongDigest.reason).toMatch(/^image layout: index\.json: no image with ref "41" and digest sha256:/);
    const output = await runContainerTest(variant({ expect: { exitCode: 0, output: "^goodbye" } }), options(), ctx);
    expect(output).toMatchObject({ outcome: "failed", reason: "smoke: output does not match /^goodbye/: hello, world from fixture-toolbox (uid 1000)" });
  });

  it("fails a tampered image before anything of it runs", async () => {
    const store = join(base, "store");
    await cp(world.containers.store, store, { recursive: true });
    const good = world.containers.images[0];
    if (!good) throw new Error("no image");
    const manifest = JSON.parse(await readFile(blobPath(join(store, good.layout), good.manifestDigest), "utf8")) as { layers: { digest: string }[] };
    const layer = blobPath(join(store, good.layout), manifest.layers[1]?.digest ?? "");
    const bytes = await readFile(layer);
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    await writeFile(layer, bytes);
    const run = await runContainerTest(variant({ store }), options(), ctx);
    expect(run.outcome).toBe("failed");
    expect(run.reason).toContain(`image layout: blob ${manifest.layers[1]?.digest}: content has digest sha256:`);
    expect(run.attempts[0]?.checks.map((c) => c.result)).toEqual(["PASS", "PASS", "PASS", "PASS", "FAIL"]);
  });

  it("fails when the composed host's runtime check exits non-zero, with its output", async () => {
    const run = await runContainerTest(variant({}, [["sh", "-c", "echo no policy >&2; exit 3"]]), options(), ctx);
    expect(run).toMatchObject({ outcome: "failed", reason: "host runtime: `sh -c echo no policy >&2; exit 3` exited 3 in the composed host: no policy" });
  });

  it("fails when the composed host lacks a runtime tool the definition requires", async () => {
    const run = await runContainerTest(variant({}, [["podman", "--version"], ["skopeo", "--version"]]), options(), ctx);
    expect(run.outcome).toBe("failed");
    expect(run.reason).toBe('host runtime: `skopeo --version`: "skopeo" is not in the composed host (PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin)');
    expect(run.attempts[0]?.checks.map((c) => `${c.result} ${c.name}`)).toEqual(["PASS toolbox/runtime/podman --version", "FAIL toolbox/runtime/skopeo --version"]);
  });

  it("runs the container unprivileged and offline: only lo, the mapped uid, no capabilities, its own hostname", async () => {
    const probe = "grep -c : /proc/net/dev; id -u; id -g; hostname; grep CapEff /proc/self/status; touch /proc/sysrq-trigger 2>/dev/null || echo no-sysrq";
    const run = await runContainerTest(variant({ entrypoint: ["sh"], command: ["-c", probe], user: "app:1234", expect: { exitCode: 0 } }), options(), ctx);
    expect(run, run.reason).toMatchObject({ outcome: "passed" });
    expect((await readFile(run.logPath, "utf8")).split("\n")).toEqual(["1", "1000", "1234", "toolbox", "CapEff:\t0000000000000000", "no-sysrq", ""]);
  });

  it("stops a smoke command at its time limit (failed, not error)", async () => {
    const run = await runContainerTest(variant({ entrypoint: ["sleep"], command: ["30"], timeoutMs: 1000 }), options(), ctx);
    expect(run).toMatchObject({ outcome: "failed", reason: "timeout: stopped after its duration of 1000 ms" });
  });

  it("is an error, retried, when the commit cannot be checked out", async () => {
    const run = await runContainerTest(toolbox, options({ subject: "0".repeat(64), errorRetries: 1 }), ctx);
    expect(run.outcome).toBe("error");
    expect(run.attempts.map((a) => a.outcome)).toEqual(["error", "error"]);
  });
});

describe("the test-runner plans key images as host tests", () => {
  it("reports atomic-ci.container.toolbox.functional and counts it in the host-tests summary", async () => {
    const store = new MemoryResultsStore();
    const settings = testRunnerConfigSchema.shape.testRunner.parse({
      workDir: join(base, "runner"),
      errorRetries: 0,
      definition: { repo: world.hostDefinition.path, branch: world.hostDefinition.branch, name: "host" },
      containers: { imageStore: world.containers.store },
    });
    const published: string[] = [];
    const runner = new TestRunner({
      bus: { publish: (topic: string) => (published.push(topic), Promise.resolve()) } as never,
      settings,
      store,
      tools: ctx,
      now: () => new Date(),
    });
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as HandlerContext["log"];
    const compose = ComposeComplete.parse({
      change_set_id: "cs-0123456789abcdef",
      compose_id: "ci-cs-0123456789abcdef",
      version: "1.0.0",
      generated_at: "2025-01-01T00:00:00Z",
      ref: world.hostDefinition.ref,
      commit: stable.commit,
      parent: null,
      os_version: "41.20250101.dev.1",
      input_hash: "d".repeat(64),
      repo: { location: repo },
      lockfile: { location: "x.lock.json", sha256: "e".repeat(64) },
      pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] },
      reused: false,
      timestamp: "2025-01-01T00:00:00Z",
    });
    await runner.testCompose(compose, { log });
    const [container] = await store.latest({ item: [stable.commit], testcases: ["atomic-ci.container.toolbox.functional"] });
    expect(container, JSON.stringify(await store.latest({ item: [stable.commit] }))).toMatchObject({ outcome: "PASSED", data: { component: ["host"], test_id: ["host/host/containers.yaml/toolbox"] } });
    const [summary] = await store.latest({ item: [stable.commit], testcases: ["atomic-ci.compose.host-tests.functional"] });
    expect(summary?.data["summary_of"]).toContain("atomic-ci.container.toolbox.functional");
  });
});
