// The composer's adapter: a change set in, compose messages out. The compose itself is the
// engine's (@atomic-ci/compose); this file decides what to compose, what to publish, and
// whether a failure is worth another delivery.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isBusError, Outcomes, type Bus, type BusMessage, type HandlerContext, type Outcome } from "@atomic-ci/bus";
import { compose as runCompose, type CandidateSet, type ComposeOptions, type ComposeResult } from "@atomic-ci/compose";
import { ChangeSetQueued, composeTopic } from "@atomic-ci/messages";
import { UnsafeArgumentError, type ToolContext } from "@atomic-ci/tools";
import { checkoutDefinition } from "./checkout.js";
import type { ComposerSection } from "./config.js";
import { buildNvrs, completeBody, errorBody, queuedBody, type BuildFailure } from "./messages.js";
import { readPrimary, rpmsOfBuilds } from "./repodata.js";
import { buildScratch, scratchMembers, type BuildScratchOptions, type ScratchBuild, type ScratchMember, type ScratchOutcome } from "./scratch.js";

export interface ComposerDeps {
  bus: Pick<Bus, "publish">;
  settings: ComposerSection;
  /** The consumer's delivery limit: the last attempt reports an infrastructure error instead of requeueing. */
  maxDeliveries: number;
  tools: ToolContext;
  now: () => Date;
  /** The engine; replaceable in unit tests. */
  compose?: (options: ComposeOptions, ctx: ToolContext) => Promise<ComposeResult>;
  /** The definition checkout; replaceable in unit tests. */
  checkout?: typeof checkoutDefinition;
  /** The scratch builds of spec changes; replaceable in unit tests. */
  build?: (members: readonly ScratchMember[], options: BuildScratchOptions) => Promise<ScratchOutcome>;
}

type Infra = { type: "infrastructure-error"; reason: string };
/** What `compose` answers: the engine's result (with the scratch builds it composed), or a build failure. */
type Attempt = (ComposeResult & { builds?: readonly ScratchBuild[] }) | BuildFailure;
const infra = (reason: string): Infra => ({ type: "infrastructure-error", reason });

export class Composer {
  private readonly repo: string;
  private readonly workDir: string;

  constructor(private readonly deps: ComposerDeps) {
    // Absolute once, so messages name a location that does not depend on a later cwd.
    this.repo = resolve(deps.settings.ostreeRepo);
    this.workDir = resolve(deps.settings.workDir);
  }

  async handle(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    const changeSet = ChangeSetQueued.parse(message.body);
    const id = changeSet.change_set_id;
    context.setChangeSet(id);
    const headers = { atomic_ci_change_set: id };
    await this.announce(composeTopic("queued"), queuedBody(id, this.deps.now()), headers);
    await this.announce(composeTopic("running"), queuedBody(id, this.deps.now()), headers);
    const scratch = scratchMembers(changeSet.members);
    context.log.info({ attempt: context.deliveryCount, builds: buildNvrs(changeSet), scratch_builds: scratch.map((m) => `${m.repo}@${m.rev}`) }, "composing");

    const result = await this.compose(changeSet, scratch);
    if (result.type === "composed") {
      const builds = result.builds ?? [];
      await this.deps.bus.publish(composeTopic("complete"), completeBody(id, result, this.repo, this.deps.now(), builds), { headers });
      context.log.info({ ref: result.ref, commit: result.commit, os_version: result.version, reused: result.reused, timings: result.timings, scratch_builds: builds.map((b) => b.nvr) }, "composed");
      return Outcomes.ack();
    }
    if (result.type === "infrastructure-error" && context.deliveryCount < this.deps.maxDeliveries) {
      // Worth another try (a full disk, a flaky mirror): the redelivery composes again, and
      // anything already committed is reused through the input hash.
      context.log.warn({ reason: result.reason, attempt: context.deliveryCount, max: this.deps.maxDeliveries }, "infrastructure error; requeueing");
      return Outcomes.requeue(`infrastructure error: ${result.reason}`);
    }
    await this.deps.bus.publish(composeTopic("error"), errorBody(id, result, this.deps.now()), { headers });
    context.log.error({ kind: result.type, reason: result.reason, ...(result.type === "compose-failure" ? { missing_dependency: result.missingDependency } : {}) }, "compose failed");
    // A compose failure is a verdict about the change: retrying gives the same answer.
    return Outcomes.ack();
  }

  /** queued/running are informational: nobody listening is not a reason to fail the compose. */
  private async announce(topic: string, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.deps.bus.publish(topic, body, { headers }).catch((err: unknown) => {
      if (!isBusError(err, "PUBLISH_RETURNED")) throw err;
    });
  }

  private async compose(changeSet: ChangeSetQueued, scratch: readonly ScratchMember[]): Promise<Attempt> {
    const { settings } = this.deps;
    if (!settings.definition.repo) return infra("composer.definition.repo is not configured");
    if (changeSet.definition.branch !== settings.definition.branch) {
      return { type: "compose-failure", reason: `this composer composes branch ${settings.definition.branch}; the change set is for ${changeSet.definition.branch}` };
    }
    const candidates = await this.candidates(buildNvrs(changeSet));
    if ("type" in candidates) return candidates;

    await mkdir(this.workDir, { recursive: true });
    const work = await mkdtemp(join(this.workDir, `checkout-${changeSet.change_set_id}-`));
    try {
      // Build first: a spec that does not build is the change's verdict, whatever the definition says.
      const built = await (this.deps.build ?? buildScratch)(scratch, { settings: settings.scratchBuilds, dir: join(work, "scratch"), tools: this.deps.tools }).catch(
        (err: unknown): ScratchOutcome => infra(`scratch build failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`),
      );
      if (built.type !== "built") return built;
      const sets: CandidateSet[] = [];
      if (candidates.nevras.length > 0 && settings.candidates.url) sets.push({ repo: { id: settings.candidates.id, url: settings.candidates.url }, nevras: candidates.nevras });
      if (built.set) sets.push(built.set);

      const dest = join(work, "definition");
      try {
        await (this.deps.checkout ?? checkoutDefinition)({ repo: settings.definition.repo, branch: settings.definition.branch, ...(changeSet.definition.rev ? { rev: changeSet.definition.rev } : {}), dest }, this.deps.tools);
      } catch (err) {
        if (err instanceof UnsafeArgumentError) return { type: "compose-failure", reason: err.message };
        return infra(`cannot check out the host definition: ${err instanceof Error ? err.message : String(err)}`);
      }
      const engine = this.deps.compose ?? runCompose;
      const result = await engine(
        {
          treefile: join(dest, settings.definition.treefile),
          basearch: settings.basearch,
          repo: this.repo,
          workDir: this.workDir,
          // One set keeps the engine's single-repository form (and its cache keys) for Koji builds alone.
          ...(sets.length === 1 ? { candidates: sets[0] } : sets.length > 1 ? { candidates: sets } : {}),
          changeSetId: changeSet.change_set_id,
          now: this.deps.now,
        },
        this.deps.tools,
      );
      return built.builds.length > 0 ? { ...result, builds: built.builds } : result;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** The RPMs of the change set's builds, from the candidates repository's metadata. */
  private async candidates(nvrs: readonly string[]): Promise<{ nevras: string[] } | Infra> {
    if (nvrs.length === 0) return { nevras: [] };
    const url = this.deps.settings.candidates.url;
    if (!url) return infra("composer.candidates.url is not configured, and the change set has builds");
    let byBuild: Map<string, string[]>;
    try {
      byBuild = rpmsOfBuilds(await readPrimary(url), nvrs);
    } catch (err) {
      return infra(`cannot read the candidates repository: ${err instanceof Error ? err.message : String(err)}`);
    }
    const absent = [...byBuild].filter(([, rpms]) => rpms.length === 0).map(([nvr]) => nvr);
    // Not there yet (the repository is regenerated after tagging): a later delivery may find it.
    if (absent.length > 0) return infra(`no RPMs of ${absent.join(", ")} in the candidates repository ${url}`);
    return { nevras: [...byBuild.values()].flat() };
  }
}
