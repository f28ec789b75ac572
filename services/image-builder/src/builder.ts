// The image-builder's adapter: a compose-complete message (or, with the compose-gate trigger, a
// satisfied compose-gate decision) in, image messages out. The images themselves are
// @atomic-ci/images' (content-addressed: a redelivery finds them and builds nothing); the AMIs
// are @atomic-ci/aws' (recorded next to meta.json: a redelivery finds them and uploads nothing).
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isAwsError, type UploadVmdkOptions, type UploadVmdkResult } from "@atomic-ci/aws";
import { isBusError, Outcomes, type Bus, type BusMessage, type HandlerContext, type Outcome } from "@atomic-ci/bus";
import { buildImages, type BuildImagesOptions, type BuiltImages, type ImageStep } from "@atomic-ci/images";
import { ComposeComplete, GreenwaveDecisionUpdate, imageTopic } from "@atomic-ci/messages";
import { isToolError, type ToolContext } from "@atomic-ci/tools";
import { recordAmis, recordedAmis } from "./amis.js";
import type { ImageBuilderSection } from "./config.js";
import { completeBody, errorBody, progressBody, queuedBody, type ImageFailureKind } from "./messages.js";
import { checkComposeRepo, type RepoCheckInput, type RepoCheckOptions, type RepoVerdict } from "./repo.js";
import { COMPOSE_GATE_CONTEXT, ComposeGateTrigger } from "./trigger.js";

/** The AWS backend as the builder uses it (AwsUploader; replaceable in unit tests). */
export interface CloudUploader {
  uploadVmdk(options: UploadVmdkOptions): Promise<UploadVmdkResult>;
}

export interface ImageBuilderDeps {
  bus: Pick<Bus, "publish">;
  settings: ImageBuilderSection;
  /** The consumer's delivery limit: the last attempt reports an infrastructure error instead of requeueing. */
  maxDeliveries: number;
  tools: ToolContext;
  now: () => Date;
  /** The engine; replaceable in unit tests. */
  build?: (options: BuildImagesOptions, ctx: ToolContext) => Promise<BuiltImages>;
  /** Set when `settings.aws.enabled`. */
  aws?: CloudUploader;
  /** Judges a compose.complete's repository and commit (default checkComposeRepo); replaceable in unit tests whose engine reads no repository. */
  checkRepo?: (input: RepoCheckInput, options: RepoCheckOptions) => Promise<RepoVerdict>;
}

/** The progress step that reads the compose's repository (pull-local): where an unreachable one is reported. */
const REPO_STEP: ImageStep = "sysroot";

/** The progress step of the AWS upload (after `meta`). */
export const AWS_STEP = "aws-upload";

/** A failure that is the commit's, not the pipeline's: retrying gives the same answer. */
export function classifyFailure(err: unknown): ImageFailureKind {
  const message = err instanceof Error ? err.message : String(err);
  if (/is not bootable/.test(message)) return "image-failure";
  // A tool that ran and refused the commit's content (pull-local of a setuid file into a
  // bare-user-only repository) is about the commit; everything else (a full disk, a missing
  // tool, a timeout) is the pipeline's.
  if (isToolError(err) && err.code === "TOOL_FAILED" && /pull-local/.test(message) && /setuid|setgid|Invalid mode/i.test(message)) return "image-failure";
  return "infrastructure-error";
}

/**
 * Whether trying again later may help. AWS throttling, 5xx and timeouts may; an import task AWS
 * ended (`deleted`: it refused the disk), a failed AMI or a refused request (4xx) will not.
 */
export function worthRetrying(err: unknown): boolean {
  if (isAwsError(err)) return err.retryable;
  return classifyFailure(err) === "infrastructure-error";
}

/** A commit as the file name of its pending compose: nothing else may name a path under outDir. */
const COMMIT = /^[0-9a-f]{64}$/;

const isDecision = (topic: string) => topic === "greenwave.decision.update" || topic.endsWith(".greenwave.decision.update");

export class ImageBuilder {
  private readonly outDir: string;
  private readonly workDir: string;
  private readonly gate: ComposeGateTrigger | undefined;
  private readonly repoRoots: readonly string[];

  constructor(private readonly deps: ImageBuilderDeps) {
    // Absolute once, so messages name locations that do not depend on a later cwd.
    this.outDir = resolve(deps.settings.outDir);
    this.workDir = resolve(deps.settings.workDir);
    this.repoRoots = deps.settings.repoRoots.map((root) => resolve(root));
    this.gate = deps.settings.trigger === "compose-gate" ? new ComposeGateTrigger(deps.settings.gateMemory) : undefined;
    if (deps.settings.aws.enabled && !deps.aws) throw new Error("imageBuilder.aws.enabled needs an AWS uploader");
  }

  async handle(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    if (isDecision(message.topic)) return this.onDecision(message, context);
    const compose = ComposeComplete.parse(message.body);
    context.setChangeSet(compose.change_set_id);
    // Before the gate memory: a compose that can never be built is neither remembered nor waited for.
    const verdict = await (this.deps.checkRepo ?? checkComposeRepo)({ location: compose.repo.location, commit: compose.commit }, { roots: this.repoRoots, tools: this.deps.tools });
    if (verdict.kind === "poison") return Outcomes.drop(verdict.reason);
    if (verdict.kind === "unreachable") return this.failed(compose, context, { kind: "infrastructure-error", reason: verdict.reason, step: REPO_STEP, retry: true });
    if (this.gate) {
      await this.rememberPending(compose);
      if (await this.gatePassedOnDisk(compose.commit)) this.gate.markPassed(compose.commit);
      const answer = this.gate.onCompose(compose);
      if ("wait" in answer) {
        context.log.info({ commit: compose.commit, waiting: this.gate.waiting }, `not building yet: ${answer.wait}`);
        return Outcomes.ack();
      }
    }
    return this.build(compose, context);
  }

  private async onDecision(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    if (!this.gate) {
      context.log.debug({}, "decision update ignored: imageBuilder.trigger is compose");
      return Outcomes.ack();
    }
    const parsed = GreenwaveDecisionUpdate.safeParse(message.body);
    if (!parsed.success) return Outcomes.drop(`not a greenwave.decision.update body: ${parsed.error.message}`);
    let answer = this.gate.onDecision(parsed.data);
    if (parsed.data.policies_satisfied && parsed.data.decision_context === COMPOSE_GATE_CONTEXT) await this.rememberPassed(parsed.data.subject_identifier);
    // Forgotten by a restart (the compose.complete was acked before it): the pending file says it.
    if ("wait" in answer && parsed.data.policies_satisfied && parsed.data.decision_context === COMPOSE_GATE_CONTEXT) {
      const pending = await this.recallPending(parsed.data.subject_identifier);
      if (pending) answer = this.gate.onCompose(pending);
    }
    if ("wait" in answer) {
      context.log.debug({ subject: parsed.data.subject_identifier, context: parsed.data.decision_context }, `decision: nothing to build: ${answer.wait}`);
      return Outcomes.ack();
    }
    context.setChangeSet(answer.build.change_set_id);
    context.log.info({ commit: answer.build.commit }, "compose gate passed: building images");
    return this.build(answer.build, context);
  }

  /**
   * compose-gate trigger: the compose waiting for its gate is also written to
   * `<outDir>/.pending-composes/<commit>.json`, so a restarted image-builder (kill -9, a
   * deploy) still builds it when the gate passes — its compose.complete was acked long before.
   * Found by the chaos suite: without it such a commit never got images and was never delivered.
   */
  private pendingPath(commit: string): string | undefined {
    return COMMIT.test(commit) ? join(this.outDir, ".pending-composes", `${commit}.json`) : undefined;
  }

  private async rememberPending(compose: ComposeComplete): Promise<void> {
    const path = this.pendingPath(compose.commit);
    if (!path) return;
    await mkdir(join(this.outDir, ".pending-composes"), { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(compose));
    await rename(`${path}.tmp`, path);
  }

  private async recallPending(commit: string): Promise<ComposeComplete | undefined> {
    const path = this.pendingPath(commit);
    if (!path) return undefined;
    const text = await readFile(path, "utf8").catch(() => undefined);
    if (text === undefined) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return undefined;
    }
    const parsed = ComposeComplete.safeParse(data);
    return parsed.success && parsed.data.commit === commit ? parsed.data : undefined;
  }

  private async done(commit: string): Promise<void> {
    if (!this.gate) return;
    this.gate.done(commit);
    const path = this.pendingPath(commit);
    if (path) await rm(path, { force: true });
  }

  /**
   * compose-gate trigger: a passed gate is kept as `<outDir>/.passed-gates/<commit>`, so a
   * compose.complete that reaches a restarted image-builder after its decision (decisions are
   * published only when they change, so it never comes again) is still built. Found by the
   * chaos suite: eight change sets of one commit waited for a decision made before the restart.
   */
  private passedPath(commit: string): string | undefined {
    return COMMIT.test(commit) ? join(this.outDir, ".passed-gates", commit) : undefined;
  }

  private async rememberPassed(commit: string): Promise<void> {
    const path = this.passedPath(commit);
    if (!path) return;
    await mkdir(join(this.outDir, ".passed-gates"), { recursive: true });
    await writeFile(path, "");
  }

  private async gatePassedOnDisk(commit: string): Promise<boolean> {
    const path = this.passedPath(commit);
    return path !== undefined && (await access(path).then(() => true, () => false));
  }

  private async build(compose: ComposeComplete, context: HandlerContext): Promise<Outcome> {
    const id = compose.change_set_id;
    const headers = { atomic_ci_change_set: id };
    const formats = this.deps.settings.formats;
    await this.announce(imageTopic("queued"), queuedBody(compose, formats, this.deps.now()), headers);
    context.log.info({ attempt: context.deliveryCount, commit: compose.commit, formats }, "building images");

    // onProgress is synchronous: the progress messages are chained so they go out in order,
    // and awaited before the result.
    let step: string | undefined;
    let progress: Promise<void> = Promise.resolve();
    const onProgress = (next: ImageStep | typeof AWS_STEP, detail: string) => {
      step = next;
      const body = progressBody(compose, next, detail, this.deps.now());
      progress = progress.then(() => this.announce(imageTopic("progress"), body, headers));
    };
    let built: BuiltImages;
    try {
      built = await (this.deps.build ?? buildImages)(
        { repo: compose.repo.location, commit: compose.commit, ref: compose.ref, formats, outDir: this.outDir, workDir: this.workDir, onProgress },
        this.deps.tools,
      );
      await progress;
      await this.cloudUpload(built, context, onProgress);
    } catch (err) {
      await progress;
      const kind = classifyFailure(err);
      return this.failed(compose, context, { kind, reason: err instanceof Error ? err.message : String(err), step, retry: kind === "infrastructure-error" && worthRetrying(err) });
    }
    await progress;
    await this.deps.bus.publish(imageTopic("complete"), completeBody(compose, built, formats, this.deps.now()), { headers });
    context.log.info({ dir: built.dir, built: built.built, reused: built.reused, timings: built.timings }, "images built");
    await this.done(compose.commit);
    return Outcomes.ack();
  }

  /** A build that failed (or cannot start): requeued while retrying may help and deliveries remain, else reported as pipeline.image.error and acked. */
  private async failed(compose: ComposeComplete, context: HandlerContext, failure: { kind: ImageFailureKind; reason: string; step: string | undefined; retry: boolean }): Promise<Outcome> {
    const { kind, reason, step } = failure;
    if (failure.retry && context.deliveryCount < this.deps.maxDeliveries) {
      context.log.warn({ reason, step, attempt: context.deliveryCount, max: this.deps.maxDeliveries }, "infrastructure error; requeueing");
      return Outcomes.requeue(`infrastructure error: ${reason}`);
    }
    // No pipeline service binds image.error (dashboards and people do): nobody listening must not
    // turn a reported failure into a handler error and a max-deliveries dead letter (the abuse suite's finding).
    await this.announce(imageTopic("error"), errorBody(compose, kind, reason, step, this.deps.now()), { atomic_ci_change_set: compose.change_set_id });
    context.log.error({ kind, reason, step }, "image build failed");
    await this.done(compose.commit);
    return Outcomes.ack();
  }

  /** With AWS enabled and a vmdk built: AMIs recorded in meta.json before image.complete goes out. Done once per build. */
  private async cloudUpload(built: BuiltImages, context: HandlerContext, onProgress: (step: typeof AWS_STEP, detail: string) => void): Promise<void> {
    const aws = this.deps.settings.aws;
    const vmdk = built.meta.images["aws-vmdk"];
    if (!aws.enabled || !this.deps.aws || !vmdk) return;
    const recorded = await recordedAmis(built.dir, vmdk.sha256, aws.region, aws.regions);
    if (recorded) {
      // Redelivery: @atomic-ci/images rewrote meta.json without them; put them back, call no AWS API.
      await recordAmis(built.dir, built.metaPath, recorded);
      context.log.info({ amis: recorded.amis }, "AMIs already recorded for this build");
      return;
    }
    onProgress(AWS_STEP, `${aws.bucket ?? ""} → ${[aws.region, ...aws.regions].join(", ")}`);
    const result = await this.deps.aws.uploadVmdk({
      file: resolve(built.dir, vmdk.path),
      sha256: vmdk.sha256,
      name: built.meta.name,
      buildId: built.meta.buildid,
      basearch: built.meta["coreos-assembler.basearch"],
      commit: built.meta["ostree-commit"],
      log: context.log,
    });
    await recordAmis(built.dir, built.metaPath, { "vmdk-sha256": vmdk.sha256, "ami-name": result.name, amis: result.amis });
    context.log.info({ amis: result.amis, uploaded: result.uploaded, imported: result.imported, copied: result.copied, timings: result.timings }, "AMIs recorded in meta.json");
  }

  /** queued/progress/error are for whoever watches: nobody listening is not a reason to fail the handler. */
  private async announce(topic: string, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.deps.bus.publish(topic, body, { headers }).catch((err: unknown) => {
      if (!isBusError(err, "PUBLISH_RETURNED")) throw err;
    });
  }
}
