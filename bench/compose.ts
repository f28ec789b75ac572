/**
 * `pnpm bench:compose`: the compose engine on the fixture world (~45 packages) and on a
 * synthetic host (`--synthetic N`, default 500 more packages): a full compose into an empty
 * repository, a compose after one package changed (podman 5.3.0 from the candidates repo),
 * and a no-op recompose (same input: the commit is reused, the depsolve cache answers instead of
 * dnf). Ratios are to the full compose, and each target is printed as MET or NOT MET. For
 * comparison it also times a no-op with the depsolve cache removed (dnf runs, as before the
 * cache existed). The floor is a bare `ostree commit --tree=dir=` of the same tree into an
 * empty archive repository: what committing the tree costs without depsolving or a package
 * cache. Timings are wall clock around `compose()` in one warm process (tsx and the fixture
 * world's build are not counted).
 * Flags: --synthetic N (0 skips the synthetic host), --rounds R (median of R, default 3).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { compose, DEPSOLVE_CACHE_DIR, type ComposeResult } from "@atomic-ci/compose";
import { buildFixtureWorld, type World } from "../test/fixture-world/src/index.js";

const run = promisify(execFile);
const { values } = parseArgs({ options: { synthetic: { type: "string", default: "500" }, rounds: { type: "string", default: "3" } } });
const SYNTHETIC = Number(values.synthetic);
const ROUNDS = Number(values.rounds);
const ctx = { env: process.env };
const TARGETS = { one: 0.35, noop: 0.05 };

interface Host {
  label: string;
  treefile: string;
  packages: number;
}

interface Round {
  full: number;
  one: number;
  noop: number;
  noopUncached: number;
  floor: number;
  imported: number;
  /** The composes' own step timings (ms). */
  fullSteps: Record<string, number>;
  oneSteps: Record<string, number>;
  noopSteps: Record<string, number>;
  noopCached: boolean;
}

function ok(result: ComposeResult): Extract<ComposeResult, { type: "composed" }> {
  if (result.type !== "composed") throw new Error(`compose did not commit: ${JSON.stringify(result)}`);
  return result;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

async function round(world: World, host: Host): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), "atomic-ci-bench-"));
  try {
    const repo = join(dir, "repo");
    const base = { treefile: host.treefile, basearch: "x86_64", repo, workDir: join(dir, "work") };
    const change = { ...base, candidates: { repo: world.repos.candidates, nevras: ["podman-5:5.3.0-1.fc41.x86_64"] } };
    const [first, full] = await timed(async () => ok(await compose(base, ctx)));
    const [changed, one] = await timed(async () => ok(await compose(change, ctx)));
    const [again, noop] = await timed(async () => ok(await compose(change, ctx)));
    if (!again.reused || again.commit !== changed.commit) throw new Error("the no-op recompose did not reuse the commit");
    // The same no-op without the depsolve cache: what it cost before the cache (dnf runs).
    await rm(join(repo, DEPSOLVE_CACHE_DIR), { recursive: true, force: true });
    const [cold, noopUncached] = await timed(async () => ok(await compose(change, ctx)));
    if (cold.depsolveCached || cold.commit !== changed.commit) throw new Error("the uncached no-op did not run dnf or did not reuse the commit");
    // The floor: check the full tree out, then time committing it into an empty archive repo.
    const tree = join(dir, "tree");
    const floorRepo = join(dir, "floor");
    await run("ostree", ["checkout", `--repo=${repo}`, "--user-mode", first.commit, tree]);
    await run("ostree", ["init", `--repo=${floorRepo}`, "--mode=archive"]);
    const [, floor] = await timed(() => run("ostree", ["commit", `--repo=${floorRepo}`, "--branch=floor", `--tree=dir=${tree}`, "--owner-uid=0", "--owner-gid=0", "--no-xattrs"]));
    return { full, one, noop, noopUncached, floor, imported: changed.imported.length, fullSteps: first.timings, oneSteps: changed.timings, noopSteps: again.timings, noopCached: again.depsolveCached === true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x: number): string => `${x.toFixed(0).padStart(6)} ms`;

const verdict = (ratio: number, target: number): string => (ratio <= target ? "MET" : "NOT MET");

async function bench(world: World, host: Host): Promise<void> {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(world, host));
  const m = (k: "full" | "one" | "noop" | "noopUncached" | "floor" | "imported"): number => median(rounds.map((r) => r[k]));
  const full = m("full");
  const ratio = (x: number): string => `${(x / full).toFixed(3)} x full`;
  const last = rounds[rounds.length - 1];
  const steps = (s: Record<string, number> | undefined): string => Object.entries(s ?? {}).map(([k, v]) => `${k} ${v}`).join(", ");
  console.log(`\n${host.label}: ${host.packages} packages, median of ${ROUNDS}`);
  console.log(`  full compose            ${ms(full)}`);
  console.log(`    steps (ms, last round) ${steps(last?.fullSteps)}`);
  console.log(`  one package changed     ${ms(m("one"))}  ${ratio(m("one"))} (target <= ${TARGETS.one}; imported ${m("imported")})`);
  console.log(`    steps (ms, last round) ${steps(last?.oneSteps)}`);
  console.log(`  no-op recompose         ${ms(m("noop"))}  ${ratio(m("noop"))} (target <= ${TARGETS.noop}; depsolve cache ${rounds.every((r) => r.noopCached) ? "hit" : "MISSED"})`);
  console.log(`    steps (ms, last round) ${steps(last?.noopSteps)}`);
  console.log(`  no-op, cache removed    ${ms(m("noopUncached"))}  ${ratio(m("noopUncached"))} (dnf runs: the no-op before the depsolve cache)`);
  console.log(`  floor: ostree commit    ${ms(m("floor"))}  ${ratio(m("floor"))}`);
  console.log(`  target one-package <= ${TARGETS.one} x full: ${verdict(m("one") / full, TARGETS.one)} (${(m("one") / full).toFixed(3)})`);
  console.log(`  target no-op       <= ${TARGETS.noop} x full: ${verdict(m("noop") / full, TARGETS.noop)} (${(m("noop") / full).toFixed(3)})`);
}

const world = await buildFixtureWorld({ synthetic: SYNTHETIC });
await bench(world, { label: "fixture world", treefile: world.hostDefinition.treefile, packages: world.hostDefinition.resolved.length });
if (world.synthetic) {
  const s = world.synthetic.hostDefinition;
  await bench(world, { label: `synthetic host (--synthetic ${SYNTHETIC})`, treefile: s.treefile, packages: s.resolved.length });
}
