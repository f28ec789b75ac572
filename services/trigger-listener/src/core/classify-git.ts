import { normalizeGitReceive, pullRequestRef, type GitReceive, type PagurePullRequestEvent } from "@atomic-ci/messages";
import { change, sourceOf, type Classified, type ClassifyContext } from "./classified.js";
import { parseDependsOn } from "./depends-on.js";
import type { TriggerInput } from "./types.js";

type Touch = "spec" | "tests" | "gating";

/** Which relevant part of a package's dist-git a path is: its spec, its tests, or its gating policy. */
export function touchOf(path: string): Touch | undefined {
  if (!path.includes("/") && path.endsWith(".spec")) return "spec";
  if (path.startsWith("tests/") || path.endsWith(".fmf")) return "tests";
  if (path === "gating.yaml") return "gating";
  return undefined;
}

/** Pushes to a fork: namespace `forks` (`forks/<user>/rpms/<name>`) or a repository path below a `forks/` directory. */
function isFork(namespace: string | null, path: string | undefined): boolean {
  return namespace === "forks" || namespace?.startsWith("forks/") === true || (path ?? "").split("/").includes("forks");
}

export function classifyPush(input: TriggerInput, body: GitReceive, ctx: ClassifyContext): Classified {
  const push = normalizeGitReceive(body);
  const repo = push.namespace ? `${push.namespace}/${push.repo}` : push.repo;
  const where = { repo, branch: push.branch };
  if (isFork(push.namespace, body.commit.path)) return { kind: "ignore", code: "fork", reason: `${repo} is a fork`, ...where };
  if (push.branch !== ctx.rules.branch) {
    return { kind: "ignore", code: "other-branch", reason: `push to ${repo} ${push.branch}, not ${ctx.rules.branch}`, ...where };
  }
  const dependsOn = parseDependsOn(push.message);
  const extra = { unparsedDependsOn: dependsOn.unparsed };
  if (repo === ctx.rules.definitionRepo) {
    const member = { kind: "definition-commit" as const, repo, branch: push.branch, rev: push.rev, ...sourceOf(input) };
    return change([member], "definition", { ...extra, change: { members: [member], reason: "definition", dependsOn: dependsOn.refs } });
  }
  if (push.namespace !== "rpms") return { kind: "ignore", code: "other-repo", reason: `${repo} is neither a package nor the host definition`, ...where };
  if (!ctx.host.has(push.repo)) {
    return { kind: "ignore", code: "not-in-host", reason: `${push.repo} is not a package of the host`, package: push.repo, ...where };
  }
  const touches = [...new Set(push.files.map(touchOf).filter((t): t is Touch => t !== undefined))].sort();
  if (touches.length === 0) {
    return { kind: "ignore", code: "no-relevant-files", reason: `the push touches none of the spec, tests/, *.fmf, gating.yaml (${push.files.join(", ")})`, package: push.repo, ...where };
  }
  const member = { kind: "dist-git-commit" as const, package: push.repo, repo, branch: push.branch, rev: push.rev, touches, ...sourceOf(input) };
  return change([member], "dist-git", { ...extra, change: { members: [member], reason: "dist-git", dependsOn: dependsOn.refs } });
}

/** A pull request proposes a change to a host package (or to the definition); it comes from a fork by nature. */
export function classifyPullRequest(input: TriggerInput, body: PagurePullRequestEvent, ctx: ClassifyContext): Classified {
  const pr = pullRequestRef(body);
  const repo = pr.namespace ? `${pr.namespace}/${pr.repo}` : pr.repo;
  const where = { repo, branch: pr.branch };
  if (pr.branch !== ctx.rules.branch) {
    return { kind: "ignore", code: "other-branch", reason: `pull request ${pr.url} targets ${pr.branch}, not ${ctx.rules.branch}`, ...where };
  }
  const isDefinition = repo === ctx.rules.definitionRepo;
  if (!isDefinition && pr.namespace !== "rpms") return { kind: "ignore", code: "other-repo", reason: `${repo} is neither a package nor the host definition`, ...where };
  if (!isDefinition && !ctx.host.has(pr.repo)) {
    return { kind: "ignore", code: "not-in-host", reason: `${pr.repo} is not a package of the host`, package: pr.repo, ...where };
  }
  if (!pr.head) return { kind: "ignore", code: "not-a-candidate", reason: `pull request ${pr.url} has no head commit yet`, ...where };
  return change(
    [{ kind: "pull-request", ...(isDefinition ? {} : { package: pr.repo }), repo, branch: pr.branch, pr_url: pr.url, rev: pr.head, ...sourceOf(input) }],
    "pull-request",
  );
}
