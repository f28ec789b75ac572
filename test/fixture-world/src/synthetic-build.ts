import { join, relative } from "node:path";
import { createrepo, type ToolContext } from "@atomic-ci/tools";
import { HOST_PACKAGES } from "./catalog/index.js";
import { BASE_TREEFILE, HOST_DEFINITION_BRANCH, LOCKFILE, OVERRIDES, TREEFILE, writeHostDefinition } from "./hostdef.js";
import type { WorldRepo, WorldRpm, WorldSynthetic } from "./manifest.js";
import { BASEARCH } from "./model.js";
import { pool } from "./pool.js";
import { buildVersion, describeRpms } from "./rpms.js";
import { syntheticGraph, syntheticSources } from "./synthetic.js";

export const SYNTHETIC_REF = "fedora/41/${basearch}/synthetic-host";

/**
 * The synthetic host: N generated packages in their own repository (repos/synthetic) and a
 * host definition (synthetic-host/) that asks for the fixture host plus all of them, with a
 * lockfile covering both. No dist-git: these exist to measure composes.
 */
export async function buildSynthetic(input: {
  count: number;
  tmp: string;
  root: string;
  stable: WorldRepo;
  baseLock: readonly WorldRpm[];
  generated: string;
  date: Date;
  ctx: ToolContext;
  jobs: number;
  workDir: string;
}): Promise<WorldSynthetic> {
  const { tmp, root, ctx } = input;
  const graph = syntheticGraph(input.count);
  const sources = syntheticSources(graph);
  const repoDir = join(tmp, "repos", "synthetic");
  const built = await pool(sources, input.jobs, (pkg) =>
    buildVersion(pkg, pkg.versions[0] ?? { version: "1", repo: "stable", date: input.generated, changelog: "" }, {
      workDir: input.workDir,
      rpmDir: join(repoDir, "Packages"),
      ctx,
    }),
  );
  await createrepo({ ...ctx, dir: repoDir, revision: Math.floor(input.date.getTime() / 1000) });
  const rpms = (await describeRpms(built.flat(), ctx)).map((rpm) => ({ ...rpm, path: join(root, relative(tmp, rpm.path)) }));

  const repo: WorldRepo = { id: "fixture-synthetic", path: join(root, "repos", "synthetic"), url: `file://${join(root, "repos", "synthetic")}` };
  const names = graph.map((p) => p.name);
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += 10) lines.push(names.slice(i, i + 10).join(" "));
  const dir = join(tmp, "synthetic-host");
  const lock = [...input.baseLock, ...rpms].sort((a, b) => (a.name < b.name ? -1 : 1));
  const commit = await writeHostDefinition(
    {
      dir,
      repos: [
        { id: input.stable.id, name: "Fixture world: Fedora 41 stable (atomic-ci)", url: input.stable.url },
        { id: repo.id, name: "Fixture world: synthetic packages (atomic-ci)", url: repo.url },
      ],
      topPackages: [...HOST_PACKAGES.top, ...lines],
      topRef: SYNTHETIC_REF,
      lock,
      generated: input.generated,
      date: input.date,
    },
    ctx,
  );
  const at = (file: string) => join(root, "synthetic-host", file);
  const requires = new Map(graph.map((p) => [p.name, p.requires]));
  return {
    count: input.count,
    repo,
    hostDefinition: {
      path: join(root, "synthetic-host"),
      name: "synthetic-host",
      branch: HOST_DEFINITION_BRANCH,
      commit,
      treefile: at(TREEFILE),
      baseTreefile: at(BASE_TREEFILE),
      lockfile: at(LOCKFILE),
      overrides: at(OVERRIDES),
      ref: SYNTHETIC_REF.replace("${basearch}", BASEARCH),
      packages: [...HOST_PACKAGES.base, ...HOST_PACKAGES.x86_64, ...HOST_PACKAGES.top].flatMap((e) => e.split(/\s+/)).concat(names),
      resolved: lock.map((r) => r.name),
    },
    packages: rpms.map((rpm) => ({ name: rpm.name, nevra: rpm.nevra, path: rpm.path, requires: requires.get(rpm.name) ?? [] })),
  };
}
