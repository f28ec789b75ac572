// The server policies, read again every refreshSeconds: a commit to the definition's policies/
// changes what is gated without a restart. A set that cannot be read or parsed keeps the last
// good one in force (and says why), as Greenwave keeps serving when a policy file is broken.
import type { Policy } from "@atomic-ci/gating";
import type { Logger } from "@atomic-ci/telemetry";
import type { RepositoryResolver, ToolContext } from "@atomic-ci/tools";
import { loadPolicies } from "./policies.js";

export interface PolicyWatchOptions {
  source: { dir?: string | undefined; repo?: string | undefined; branch: string };
  /** Where a remote `repo` is read (its mirror); a local path is read as it is. */
  resolver?: RepositoryResolver | undefined;
  tools: ToolContext;
  logger: Pick<Logger, "info" | "warn">;
  /** Told when the policies in force change. */
  apply: (policies: readonly Policy[]) => void;
  intervalMs: number;
}

export class PolicyWatch {
  private current = "";
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(private readonly options: PolicyWatchOptions) {}

  /** The policies now; throws when they cannot be read (a service must not start ungated by mistake). */
  async load(): Promise<Policy[]> {
    const policies = await this.read();
    this.current = JSON.stringify(policies);
    return policies;
  }

  /** Read again every intervalMs (one read at a time). */
  start(): void {
    this.timer ??= setInterval(() => {
      this.reading ??= this.refresh().finally(() => {
        this.reading = undefined;
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stop reading; a read in progress finishes. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.reading;
  }

  /** One read: applies a changed set, keeps the last good one when this one is unusable. */
  async refresh(): Promise<void> {
    let policies: Policy[];
    try {
      policies = await this.read();
    } catch (err) {
      this.options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "the policies cannot be read again: the last good ones stay in force");
      return;
    }
    const text = JSON.stringify(policies);
    if (text === this.current) return;
    this.current = text;
    this.options.apply(policies);
    this.options.logger.info({ policies: policies.map((p) => p.id) }, "policies changed");
  }

  private async read(): Promise<Policy[]> {
    const { source, resolver } = this.options;
    const repo = source.repo !== undefined && resolver ? await resolver.path() : source.repo;
    return loadPolicies({ ...source, repo }, this.options.tools);
  }
}
