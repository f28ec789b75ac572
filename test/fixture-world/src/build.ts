// Build the fixture world from the command line:
//   pnpm exec tsx test/fixture-world/src/build.ts [--out DIR] [--synthetic N] [--force] [--json]
// Prints where everything is; the full index is world.json in the printed directory.
import { parseArgs } from "node:util";
import { buildFixtureWorld } from "./world.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    synthetic: { type: "string" },
    force: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log("usage: build.ts [--out CACHE_DIR] [--synthetic N] [--force] [--json]");
  process.exit(0);
}

const started = Date.now();
const synthetic = values.synthetic === undefined ? 0 : Number(values.synthetic);
const world = await buildFixtureWorld({
  ...(values.out === undefined ? {} : { outDir: values.out }),
  synthetic,
  force: values.force,
  env: process.env,
  log: values.json ? undefined : (line) => console.error(`fixture-world: ${line}`),
});
const seconds = ((Date.now() - started) / 1000).toFixed(2);

if (values.json) {
  console.log(JSON.stringify({ root: world.root, manifest: world.manifest, cached: world.cached, seconds: Number(seconds) }));
} else {
  const rpms = world.builds.reduce((n, b) => n + b.rpms.length, 0);
  console.log(`fixture world ${world.cached ? "(cached)" : "built"} in ${seconds} s: ${world.root}`);
  console.log(`  ${world.packages.length} packages, ${world.builds.length} builds, ${rpms} RPMs; kernel ${world.kernel.kver}`);
  console.log(`  stable repo      ${world.repos.stable.url}`);
  console.log(`  candidates repo  ${world.repos.candidates.url}`);
  console.log(`  host definition  ${world.hostDefinition.path} (${world.hostDefinition.commit.slice(0, 12)})`);
  console.log(`  dist-git         ${world.distGit.root}/<name>`);
  for (const b of world.broken) console.log(`  broken: ${b.nvr} (${b.kind})`);
  if (world.synthetic) console.log(`  synthetic host   ${world.synthetic.count} packages in ${world.synthetic.repo.path}`);
  console.log(`  index            ${world.manifest}`);
}
