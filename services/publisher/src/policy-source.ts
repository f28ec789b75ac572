// Where the delivery policy comes from: `git show <branch>:<path>` of the host definition
// repository, looked at again at each evaluation (a commit that lifts a freeze takes effect at
// the next one). An invalid file never replaces the last good policy.
import { gitRevParse, gitShowFile, type RepositoryResolver, type ToolContext } from "@atomic-ci/tools";
import { DeliveryPolicyError, parseDeliveryPolicy, type DeliveryPolicy } from "./policy.js";

export interface PolicyLoad {
  /** The policy in force: the branch's, or the last good one when the branch's is unusable. */
  policy?: DeliveryPolicy;
  /** The definition commit the policy in force was read at. */
  rev?: string;
  /** Why the branch's policy is not the one in force (an invalid file, an unreadable repository). */
  error?: string;
  /** True when the policy in force changed with this load. */
  changed: boolean;
}

export interface PolicySource {
  load(): Promise<PolicyLoad>;
}

/** A fixed policy (tests, or an embedded pipeline without a definition repository). */
export class StaticPolicySource implements PolicySource {
  constructor(private policy: DeliveryPolicy | undefined) {}
  set(policy: DeliveryPolicy | undefined): void {
    this.policy = policy;
  }
  load(): Promise<PolicyLoad> {
    return Promise.resolve(this.policy ? { policy: this.policy, changed: false } : { error: "no delivery policy", changed: false });
  }
}

export interface GitPolicySourceOptions {
  /** A local repository, or (with `resolver`) the remote URL shown in messages. */
  repo: string;
  branch: string;
  path: string;
  /** Where to read a remote repository: its mirror, fetched when stale (`repositoryResolver`). */
  resolver?: RepositoryResolver;
}

export class GitPolicySource implements PolicySource {
  private good: { policy: DeliveryPolicy; rev: string } | undefined;
  /** The commit whose file was found invalid (not parsed again until the branch moves). */
  private bad: { rev: string; error: string } | undefined;

  constructor(
    private readonly options: GitPolicySourceOptions,
    private readonly tools: ToolContext,
  ) {}

  async load(): Promise<PolicyLoad> {
    const { branch, path } = this.options;
    let repo = this.options.repo;
    let rev: string;
    try {
      if (this.options.resolver) repo = await this.options.resolver.path();
      rev = await gitRevParse(repo, branch, this.tools);
    } catch (err) {
      return this.fallback(`cannot read branch ${branch} of ${this.options.repo}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.good?.rev === rev) return { ...this.good, changed: false };
    if (this.bad?.rev === rev) return this.fallback(this.bad.error);
    let text: string;
    try {
      text = await gitShowFile(repo, rev, path, this.tools);
    } catch (err) {
      const error = `no ${path} at ${branch} (${rev.slice(0, 12)}) of ${this.options.repo}: ${err instanceof Error ? err.message : String(err)}`;
      this.bad = { rev, error };
      return this.fallback(error);
    }
    try {
      const policy = parseDeliveryPolicy(text, `${path} at ${branch} (${rev.slice(0, 12)})`);
      this.good = { policy, rev };
      this.bad = undefined;
      return { policy, rev, changed: true };
    } catch (err) {
      const error = err instanceof DeliveryPolicyError ? err.message : String(err);
      this.bad = { rev, error };
      return this.fallback(error);
    }
  }

  private fallback(error: string): PolicyLoad {
    return this.good ? { ...this.good, error, changed: false } : { error, changed: false };
  }
}
