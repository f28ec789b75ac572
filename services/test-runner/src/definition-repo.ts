import { resolve } from "node:path";
import type { RepositoryResolver } from "@atomic-ci/tools";

/**
 * Where to read the host definition at `rev`: the resolver's mirror of a remote repository
 * (fetched if it lacks the commit), else the configured local path. Rejects when a remote one
 * has never been fetched: the caller reports the host tests as a discovery ERROR, so the gate
 * fails closed instead of passing without them.
 */
export async function definitionRepoPath(configured: string, resolver: RepositoryResolver | undefined, rev: string): Promise<string> {
  return resolver ? resolver.path(rev) : resolve(configured);
}
