// What the runner asks dist-git on every compose, kept between composes. Every compose of the
// host asks again for each host package's build commit and tests (the whole-host set): without
// this, that is a `git log` and a `git show` per commit walked plus the discovery's `ls-tree` and
// `show`s, per package, per compose. A build's commit is kept with the branch head it was found
// at (one `rev-parse` tells whether it still holds); tests at a commit never change.
import { discoverPackageTests, type Discovery } from "@atomic-ci/testing";
import { gitRevParse, type ToolContext } from "@atomic-ci/tools";
import { buildCommit, type ChangedBuild } from "./resolve.js";

const KEPT = 5000;

export class DistGitLookups {
  private readonly commits = new Map<string, { head: string; commit: string | undefined }>();
  private readonly discoveries = new Map<string, Promise<Discovery>>();

  constructor(
    private readonly tools: ToolContext,
    /** The branch builds are made from (dist-git's release branch, e.g. f41). */
    private readonly branch: string,
  ) {}

  /** `buildCommit` on the branch, answered from memory while the branch head has not moved. */
  async buildCommit(repo: string, build: Pick<ChangedBuild, "name" | "version" | "release">): Promise<string | undefined> {
    const head = await gitRevParse(repo, this.branch, this.tools);
    const key = `${repo}\u0000${build.name}\u0000${build.version}\u0000${build.release}`;
    const known = this.commits.get(key);
    if (known?.head === head) return known.commit;
    const commit = await buildCommit(repo, build, { ...this.tools, rev: head });
    remember(this.commits, key, { head, commit });
    return commit;
  }

  /** The tests of a package at a commit; a failed discovery is not kept (the next compose tries again). */
  discover(opts: { repo: string; rev: string; package: string }): Promise<Discovery> {
    const key = `${opts.repo}\u0000${opts.rev}\u0000${opts.package}`;
    let found = this.discoveries.get(key);
    if (!found) {
      found = discoverPackageTests(opts, this.tools);
      void found.catch(() => this.discoveries.delete(key));
      remember(this.discoveries, key, found);
    }
    return found;
  }
}

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > KEPT) map.delete(map.keys().next().value as string);
}
