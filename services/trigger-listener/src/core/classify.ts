import {
  BodhiUpdateReadyForTestingMessage,
  BodhiUpdateRequestTestingMessage,
  GitReceiveMessage,
  KOJI_BUILD_STATE,
  kojiBuildNvr,
  kojiBuildStateName,
  KojiBuildStateChangeMessage,
  KojiTagMessage,
  isReleaseOperatorRequest,
  nvrPackageName,
  OperatorRequestMessage,
  PagurePullRequestNewMessage,
  PagurePullRequestUpdatedMessage,
  type BodhiUpdateReadyForTesting,
  type BodhiUpdateRequestTesting,
  type ChangeSetMember,
  type GitReceive,
  type KojiBuildStateChange,
  type KojiTag,
  type OperatorRequest,
  type PagurePullRequestEvent,
} from "@atomic-ci/messages";
import { classifyPullRequest, classifyPush } from "./classify-git.js";
import { change, sourceOf, type Classified, type ClassifyContext, type Ignore } from "./classified.js";
import type { TriggerInput } from "./types.js";

/**
 * Decide what one upstream message is: a change for the host, or ignored with a reason.
 * Dispatch is on the schema the bus validated the body with, so the body types hold.
 */
export function classify(input: TriggerInput, ctx: ClassifyContext): Classified {
  switch (input.schema) {
    case KojiBuildStateChangeMessage.name:
      return classifyBuild(input, input.body as KojiBuildStateChange, ctx);
    case KojiTagMessage.name:
      return classifyTag(input, input.body as KojiTag, ctx);
    case GitReceiveMessage.name:
      return classifyPush(input, input.body as GitReceive, ctx);
    case BodhiUpdateRequestTestingMessage.name: {
      const body = input.body as BodhiUpdateRequestTesting;
      return classifyBodhi(input, body.update.builds.map((b) => ({ nvr: b.nvr })), bodhiBranches(body.update.release), ctx);
    }
    case BodhiUpdateReadyForTestingMessage.name: {
      // Both ready-for-testing shapes carry `artifact.builds`, with Koji build ids.
      const body = input.body as BodhiUpdateReadyForTesting;
      const update = (body as { update?: { release?: unknown } }).update;
      const builds = body.artifact.builds.map((b) => ({ nvr: b.nvr, id: b.id }));
      return classifyBodhi(input, builds, [...bodhiBranches(update?.release), ...bodhiBranches({ dist_tag: (body.artifact as { release?: unknown }).release })], ctx);
    }
    case PagurePullRequestNewMessage.name:
    case PagurePullRequestUpdatedMessage.name:
      return classifyPullRequest(input, input.body as PagurePullRequestEvent, ctx);
    case OperatorRequestMessage.name:
      return classifyOperator(input, input.body as OperatorRequest, ctx);
    default:
      return { kind: "ignore", code: "not-a-candidate", reason: `${input.schema} messages do not start a pipeline run` };
  }
}

function notInHost(name: string, extra: Partial<Ignore> = {}): Ignore {
  return { kind: "ignore", code: "not-in-host", reason: `${name} is not a package of the host`, package: name, ...extra };
}

function classifyBuild(input: TriggerInput, body: KojiBuildStateChange, ctx: ClassifyContext): Classified {
  const nvr = kojiBuildNvr(body);
  if (body.new !== KOJI_BUILD_STATE.COMPLETE) {
    return { kind: "ignore", code: "not-complete", reason: `build ${nvr} is ${kojiBuildStateName(body.new)}, not COMPLETE`, package: body.name, nvr };
  }
  if (!ctx.host.has(body.name)) return notInHost(body.name, { nvr });
  return change([{ kind: "build", package: body.name, nvr, build_id: body.build_id, ...sourceOf(input) }], "koji-build");
}

function classifyTag(input: TriggerInput, body: KojiTag, ctx: ClassifyContext): Classified {
  const nvr = kojiBuildNvr(body);
  if (body.tag !== ctx.rules.candidateTag) {
    return { kind: "ignore", code: "other-tag", reason: `${nvr} was tagged into ${body.tag ?? "no tag"}, not ${ctx.rules.candidateTag}`, package: body.name, nvr };
  }
  if (!ctx.host.has(body.name)) return notInHost(body.name, { nvr });
  return change([{ kind: "build", package: body.name, nvr, build_id: body.build_id, ...sourceOf(input) }], "koji-tag");
}

/** The branch names a Bodhi release goes by: `f41`, or `rawhide` and its dist tag `f42`. */
function bodhiBranches(release: unknown): string[] {
  if (typeof release !== "object" || release === null) return [];
  const { branch, dist_tag } = release as { branch?: unknown; dist_tag?: unknown };
  return [branch, dist_tag].filter((n): n is string => typeof n === "string" && n !== "");
}

/** An update's builds travel together; only the host's builds are members (the others are not part of the host). */
function classifyBodhi(input: TriggerInput, builds: { nvr: string; id?: number }[], branches: string[], ctx: ClassifyContext): Classified {
  if (branches.length > 0 && !branches.includes(ctx.rules.branch)) {
    return { kind: "ignore", code: "other-branch", reason: `the update is for ${[...new Set(branches)].join("/")}, not ${ctx.rules.branch}` };
  }
  const inHost = builds.filter((b) => ctx.host.has(nvrPackageName(b.nvr)));
  if (inHost.length === 0) {
    const names = builds.map((b) => nvrPackageName(b.nvr));
    return { kind: "ignore", code: "not-in-host", reason: `no build of the update is a host package (${names.join(", ")})`, ...(names.length === 1 ? { package: names[0] } : {}) };
  }
  const members: ChangeSetMember[] = inHost.map((b) => ({
    kind: "build",
    package: nvrPackageName(b.nvr),
    nvr: b.nvr,
    ...(b.id !== undefined ? { build_id: b.id } : {}),
    ...sourceOf(input),
  }));
  return change(members, "bodhi-update");
}

function classifyOperator(input: TriggerInput, body: OperatorRequest, ctx: ClassifyContext): Classified {
  // hold, unhold and rollback are the publisher's: they start no pipeline run.
  if (isReleaseOperatorRequest(body)) return { kind: "ignore", code: "not-a-candidate", reason: `operator ${body.action} requests are for the publisher` };
  // rerun-test is the test-runner's: one test again on a compose, no new pipeline run.
  if (body.action === "rerun-test") return { kind: "ignore", code: "not-a-candidate", reason: "operator rerun-test requests are for the test-runner" };
  const member: ChangeSetMember = { kind: "operator-request", action: body.action, requested_by: body.requested_by, ...sourceOf(input) };
  if (body.action === "rerun") return { kind: "rerun", changeSetId: body.change_set_id, member, requestedBy: body.requested_by };
  const stranger = (body.packages ?? []).find((p) => !ctx.host.has(p));
  if (stranger) return notInHost(stranger);
  return change([member], "operator", { immediate: true, change: { members: [member], reason: "operator", dependsOn: [], requestedBy: body.requested_by } });
}
