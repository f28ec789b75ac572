// The image-builder's adapter: a compose-complete message in, image messages out. The images
// themselves are @atomic-ci/images' (content-addressed: a redelivery finds them and builds nothing).
import { resolve } from "node:path";
import { isBusError, Outcomes, type Bus, type BusMessage, type HandlerContext, type Outcome } from "@atomic-ci/bus";
import { buildImages, type BuildImagesOptions, type BuiltImages, type ImageStep } from "@atomic-ci/images";
import { ComposeComplete, imageTopic } from "@atomic-ci/messages";
import { isToolError, type ToolContext } from "@atomic-ci/tools";
import type { ImageBuilderSection } from "./config.js";
import { completeBody, errorBody, progressBody, queuedBody, type ImageFailureKind } from "./messages.js";

export interface ImageBuilderDeps {
  bus: Pick<Bus, "publish">;
  settings: ImageBuilderSection;
  /** The consumer's delivery limit: the last attempt reports an infrastructure error instead of requeueing. */
  maxDeliveries: number;
  tools: ToolContext;
  now: () => Date;
  /** The engine; replaceable in unit tests. */
  build?: (options: BuildImagesOptions, ctx: ToolContext) => Promise<BuiltImages>;
}

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

export class ImageBuilder {
  private readonly outDir: string;
  private readonly workDir: string;

  constructor(private readonly deps: ImageBuilderDeps) {
    // Absolute once, so messages name locations that do not depend on a later cwd.
    this.outDir = resolve(deps.settings.outDir);
    this.workDir = resolve(deps.settings.workDir);
  }

  async handle(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    const compose = ComposeComplete.parse(message.body);
    const id = compose.change_set_id;
    context.setChangeSet(id);
    const headers = { atomic_ci_change_set: id };
    const formats = this.deps.settings.formats;
    await this.announce(imageTopic("queued"), queuedBody(compose, formats, this.deps.now()), headers);
    context.log.info({ attempt: context.deliveryCount, commit: compose.commit, formats }, "building images");

    // onProgress is synchronous: the progress messages are chained so they go out in order,
    // and awaited before the result.
    let step: ImageStep | undefined;
    let progress: Promise<void> = Promise.resolve();
    const onProgress = (next: ImageStep, detail: string) => {
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
    } catch (err) {
      await progress;
      const kind = classifyFailure(err);
      const reason = err instanceof Error ? err.message : String(err);
      if (kind === "infrastructure-error" && context.deliveryCount < this.deps.maxDeliveries) {
        context.log.warn({ reason, step, attempt: context.deliveryCount, max: this.deps.maxDeliveries }, "infrastructure error; requeueing");
        return Outcomes.requeue(`infrastructure error: ${reason}`);
      }
      await this.deps.bus.publish(imageTopic("error"), errorBody(compose, kind, reason, step, this.deps.now()), { headers });
      context.log.error({ kind, reason, step }, "image build failed");
      return Outcomes.ack();
    }
    await progress;
    await this.deps.bus.publish(imageTopic("complete"), completeBody(compose, built, formats, this.deps.now()), { headers });
    context.log.info({ dir: built.dir, built: built.built, reused: built.reused, timings: built.timings }, "images built");
    return Outcomes.ack();
  }

  /** queued/progress are informational: nobody listening is not a reason to fail the build. */
  private async announce(topic: string, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.deps.bus.publish(topic, body, { headers }).catch((err: unknown) => {
      if (!isBusError(err, "PUBLISH_RETURNED")) throw err;
    });
  }
}
