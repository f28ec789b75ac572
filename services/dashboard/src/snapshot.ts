// The projection kept in Redis, so a restarted dashboard shows the pipeline at once instead of
// an empty page until new messages arrive. It is only a cache: a missing, old-format or
// unreadable snapshot is ignored and the page fills up again from the bus.
import { RedisLink } from "@atomic-ci/bus";
import { emptyState, type DashboardState } from "./projection.js";

/** Bumped when DashboardState changes shape: an older snapshot is then ignored. */
export const SNAPSHOT_FORMAT = 1;

export interface SnapshotStore {
  load(): Promise<DashboardState | undefined>;
  save(state: DashboardState): Promise<void>;
  close(): Promise<void>;
}

/** A snapshot's state, when it has our format and the tables the projection needs. */
export function stateFromSnapshot(text: string | null): DashboardState | undefined {
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { format, state } = parsed as { format?: unknown; state?: unknown };
  if (format !== SNAPSHOT_FORMAT || typeof state !== "object" || state === null) return undefined;
  const s = state as Record<string, unknown>;
  const tables = ["changeSets", "composes", "tests", "decisions", "streams"] as const;
  if (!Array.isArray(s["order"]) || !Array.isArray(s["waivers"]) || typeof s["seq"] !== "number" || tables.some((t) => typeof s[t] !== "object" || s[t] === null)) return undefined;
  return { ...emptyState(), ...(s as Partial<DashboardState>) };
}

export class RedisSnapshotStore implements SnapshotStore {
  private readonly link: RedisLink;

  constructor(
    url: string,
    private readonly key: string,
    onError?: (err: Error) => void,
  ) {
    this.link = new RedisLink({ url, ...(onError ? { onError } : {}) }, "dashboard snapshot");
  }

  connect(): Promise<void> {
    return this.link.connect();
  }

  async load(): Promise<DashboardState | undefined> {
    return stateFromSnapshot(await this.link.client.get(this.key));
  }

  async save(state: DashboardState): Promise<void> {
    await this.link.client.set(this.key, JSON.stringify({ format: SNAPSHOT_FORMAT, state }));
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
