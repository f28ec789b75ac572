// The pipeline part of the demo: a Koji build composed into an OSTree commit, a pinned older
// version composed, and a no-op recompose that reuses the commit — all through the services
// on the embedded bus, with the real tools (git, dnf, ostree) on the fixture world.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Bus } from "@atomic-ci/bus";
import { PackageDiff } from "@atomic-ci/messages";
import { gitEnv, runTool, type ToolEnv } from "@atomic-ci/tools";
import { pinPackage } from "../definition/pin.js";
import type { Seen, Watcher } from "./watch.js";
import { findBuild, kojiBuildComplete, type FixtureWorld } from "./world.js";

/** What the demo shows, chosen from the fixture world (docs/fixture-world.md). */
export const CANDIDATE = "ostree-2024.9-1.fc41";
export const PIN = { name: "podman", evr: "5:5.1.2-1.fc41", nevra: "podman-5:5.1.2-1.fc41.x86_64", reason: "https://pagure.io/atomic-ci/issue/3" };
const AUTHOR = { name: "Demo Operator", email: "operator@atomic-ci.invalid" };

export interface ComposeSummary {
  step: "baseline" | "koji-build" | "pin" | "no-op";
  change_set_id: string;
  compose_id: string;
  repo: string;
  ref: string;
  commit: string;
  os_version: string;
  reused: boolean;
  pkgdiff: PackageDiff;
  /** The committed package set (from the compose JSON). */
  packages: string[];
}

export interface PipelineDeps {
  world: FixtureWorld;
  /** The demo's own publisher on the services' bus. */
  bus: Bus;
  watcher: Watcher;
  /** The demo's own clone of the host definition (the composer composes it; pins go there). */
  definition: string;
  env: ToolEnv;
  say: (line?: string) => void;
}

function upgrades(diff: PackageDiff, key: "upgraded" | "downgraded"): { from: string; to: string }[] {
  return diff[key];
}

async function summarise(step: ComposeSummary["step"], outcome: Seen): Promise<ComposeSummary> {
  const b = outcome.body;
  if (outcome.topic !== "pipeline.compose.complete") throw new Error(`${step}: the compose failed (${String(b["kind"])}): ${String(b["reason"])}`);
  const composeJson = (b["compose_json"] as { location: string }).location;
  const json = JSON.parse(await readFile(composeJson, "utf8")) as { packages: string[] };
  return {
    step,
    change_set_id: String(b["change_set_id"]),
    compose_id: String(b["compose_id"]),
    repo: (b["repo"] as { location: string }).location,
    ref: String(b["ref"]),
    commit: String(b["commit"]),
    os_version: String(b["os_version"]),
    reused: b["reused"] === true,
    pkgdiff: PackageDiff.parse(b["pkgdiff"]),
    packages: json.packages,
  };
}

function show(deps: PipelineDeps, c: ComposeSummary): void {
  deps.say(`    change set ${c.change_set_id} → ${c.reused ? "reused" : "new"} commit`);
  deps.say(`    ref      ${c.ref}`);
  deps.say(`    commit   ${c.commit}`);
  deps.say(`    version  ${c.os_version}`);
  const diff = c.pkgdiff;
  const lines = [
    ...upgrades(c.pkgdiff, "upgraded").map((u) => `↑ ${u.from} → ${u.to}`),
    ...upgrades(c.pkgdiff, "downgraded").map((u) => `↓ ${u.from} → ${u.to}`),
    ...diff.added.map((n) => `+ ${n}`),
    ...diff.removed.map((n) => `- ${n}`),
  ];
  deps.say(`    packages ${c.packages.length}; diff against the parent:${lines.length === 0 ? " none" : ""}`);
  for (const line of lines.slice(0, 8)) deps.say(`      ${line}`);
  if (lines.length > 8) deps.say(`      ... ${lines.length - 8} more`);
}

async function operatorCompose(deps: PipelineDeps, reason: string): Promise<Seen> {
  const from = deps.watcher.seen.length;
  await deps.bus.publish("pipeline.operator.request", { action: "compose", version: "1.0.0", generated_at: new Date().toISOString(), requested_by: "demo", reason });
  return (await deps.watcher.composeOutcome(from)).outcome;
}

async function commitExists(repo: string, commit: string, env: ToolEnv): Promise<boolean> {
  const { stdout } = await runTool("ostree", ["rev-parse", `--repo=${repo}`, commit], { env, timeoutMs: 30_000 });
  return stdout.trim() === commit;
}

/** Runs the steps; throws when something the demo shows did not happen. */
export async function runPipelineDemo(deps: PipelineDeps): Promise<{ baseline: ComposeSummary; composes: ComposeSummary[] }> {
  const { say, watcher } = deps;
  say("  0. The pipeline's repository starts with the host as the definition says (an operator compose):");
  const baseline = await summarise("baseline", await operatorCompose(deps, "baseline: the host as defined"));
  say(`    ${baseline.ref} ${baseline.os_version} ${baseline.commit.slice(0, 12)} (${baseline.packages.length} packages)`);

  say(`  1. Koji says ${CANDIDATE} is COMPLETE (the world's candidate build):`);
  const from = watcher.seen.length;
  const koji = kojiBuildComplete(findBuild(deps.world, CANDIDATE));
  await deps.bus.publish(koji.topic, koji.body, { topicPrefix: "org.fedoraproject.prod" });
  const built = await summarise("koji-build", (await watcher.composeOutcome(from)).outcome);
  show(deps, built);
  if (!upgrades(built.pkgdiff, "upgraded").some((u) => u.to.startsWith("ostree-2024.9-"))) throw new Error("the candidate's compose does not upgrade ostree");
  if (!(await commitExists(built.repo, built.commit, deps.env))) throw new Error(`commit ${built.commit} is not in ${built.repo}`);

  say(`  2. atomic-ci pin ${PIN.name} ${PIN.evr} --reason ${PIN.reason} (a git commit in the definition), then a compose:`);
  const edit = await pinPackage({ dir: deps.definition, author: AUTHOR, env: deps.env }, PIN);
  if (!edit.changed) throw new Error("the pin changed nothing");
  say(`    definition commit ${edit.commit.slice(0, 12)}: pin ${PIN.name} to ${PIN.evr}`);
  const pinned = await summarise("pin", await operatorCompose(deps, `pin ${PIN.name}: ${PIN.reason}`));
  show(deps, pinned);
  say(`    (ostree is back at the definition's 2024.8: the candidate is not in the definition until it passes the gate)`);
  if (!pinned.packages.includes(PIN.nevra)) throw new Error(`the pinned compose does not contain ${PIN.nevra}`);

  say("  3. The same compose again, nothing changed (operator request):");
  const again = await summarise("no-op", await operatorCompose(deps, "no-op recompose"));
  show(deps, again);
  if (!again.reused || again.commit !== pinned.commit) throw new Error("the no-op recompose did not reuse the previous commit");
  return { baseline, composes: [built, pinned, again] };
}

/** A clone of the world's definition the demo can commit into (the cached world stays as built). */
export async function cloneDefinition(world: FixtureWorld, dir: string, env: ToolEnv): Promise<string> {
  const target = join(dir, "definition");
  await runTool("git", ["clone", "--quiet", "--", world.hostDefinition.path, target], { env: gitEnv(env), timeoutMs: 60_000 });
  return target;
}
