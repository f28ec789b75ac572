// The synthetic host, built through the command line as a benchmark would: N generated
// packages with a layered dependency graph that dnf resolves, and a host definition for them.
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { queryRpmDeps, runTool } from "@atomic-ci/tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ctx, dnfInstall, env, installed, tempDir } from "./helpers.js";
import { loadWorld, type World } from "./src/index.js";
import { syntheticGraph } from "./src/synthetic.js";

let outDir: string;
let root: string;
let world: World;
let cli: { root: string; manifest: string; cached: boolean; seconds: number };

beforeAll(async () => {
  outDir = await tempDir("synthetic");
  root = await tempDir("synthetic-root");
  const tsx = join(import.meta.dirname, "..", "..", "node_modules", ".bin", "tsx");
  const build = join(import.meta.dirname, "src", "build.ts");
  const { stdout } = await runTool(tsx, [build, "--out", outDir, "--synthetic", "50", "--json"], { env, timeoutMs: 170_000 });
  cli = JSON.parse(stdout) as typeof cli;
  world = await loadWorld(cli.manifest);
}, 180_000);

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

describe("synthetic host (--synthetic 50)", () => {
  it("prints where the world is and records 50 generated packages in their own repository", () => {
    expect(cli.cached).toBe(false);
    expect(cli.manifest).toBe(join(cli.root, "world.json"));
    const synthetic = world.synthetic;
    expect(synthetic?.count).toBe(50);
    expect(synthetic?.packages.map((p) => p.name)).toEqual(syntheticGraph(50).map((p) => p.name));
    expect(synthetic?.repo.path).toBe(join(cli.root, "repos", "synthetic"));
  });

  it("generates a layered graph: each package requires 0–5 packages of lower layers", () => {
    const graph = syntheticGraph(50);
    const position = new Map(graph.map((p, i) => [p.name, i]));
    expect(graph.filter((p) => p.layer === 0).every((p) => p.requires.join() === "glibc")).toBe(true);
    for (const [i, p] of graph.entries()) {
      expect(p.requires.length).toBeLessThanOrEqual(5);
      for (const dep of p.requires.filter((d) => d !== "glibc")) expect(position.get(dep)).toBeLessThan(i);
    }
    expect(new Set(graph.map((p) => p.layer))).toEqual(new Set([0, 1, 2, 3]));
    expect(graph.some((p) => p.requires.length >= 3)).toBe(true);
    expect(syntheticGraph(50)).toEqual(graph);
  });

  it("carries each package's Requires into its RPM", async () => {
    for (const p of (world.synthetic?.packages ?? []).slice(0, 15)) {
      const requires = await queryRpmDeps(p.path, "requires", ctx);
      for (const dep of p.requires) expect(requires).toContain(dep);
    }
  });

  it("depsolves the synthetic host definition with dnf to its lockfile", async () => {
    const def = world.synthetic?.hostDefinition;
    if (!def || !world.synthetic) throw new Error("no synthetic host");
    const treefile = parse(readFileSync(def.treefile, "utf8")) as { ref: string; packages: string[] };
    expect(treefile.ref).toBe("fedora/41/${basearch}/synthetic-host");
    expect(treefile.packages.flatMap((e) => e.split(/\s+/))).toEqual(["podman", "foo-cli", ...world.synthetic.packages.map((p) => p.name)]);
    await dnfInstall(world, root, def.packages, { extraRepos: [world.synthetic.repo] });
    const got = await installed(world, root);
    const lock = JSON.parse(readFileSync(def.lockfile, "utf8")) as { packages: Record<string, { evra: string }> };
    expect(got.size).toBe(Object.keys(lock.packages).length);
    expect(got.size).toBe(world.hostDefinition.resolved.length + 50);
    for (const [name, entry] of Object.entries(lock.packages)) expect(got.get(name), name).toBe(entry.evra);
  });
});
