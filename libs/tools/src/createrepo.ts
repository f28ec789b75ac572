import { join } from "node:path";
import { safePath } from "./argv.js";
import { runTool, type ToolContext } from "./run.js";

export interface CreaterepoOptions extends ToolContext {
  /** Directory holding the RPMs (searched recursively); `repodata/` is written inside it. */
  dir: string;
  /**
   * `--update`: reuse the metadata of packages whose file size and mtime did not change. Worth
   * it when builds are appended to a large repo (RPM files are named by NEVRA and never
   * rewritten). Off by default: a repo written once is simplest to reason about from scratch.
   */
  update?: boolean;
  /**
   * Unix time to stamp into repomd.xml (`--revision N --set-timestamp-to-revision`), so the
   * same packages give byte-identical metadata. Without it the current time is used.
   */
  revision?: number;
  /** sqlite databases are for yum 3; dnf reads the XML. Default false (faster). */
  database?: boolean;
  workers?: number;
}

export interface CreaterepoResult {
  repomd: string;
}

export async function createrepo(options: CreaterepoOptions): Promise<CreaterepoResult> {
  const args = ["--quiet", options.database ? "--database" : "--no-database"];
  if (options.update) args.push("--update");
  if (options.revision !== undefined) {
    if (!Number.isInteger(options.revision) || options.revision < 0) throw new RangeError("revision must be a unix time");
    args.push("--revision", String(options.revision), "--set-timestamp-to-revision");
  }
  if (options.workers !== undefined) args.push("--workers", String(options.workers));
  args.push("--", safePath(options.dir, "repository directory"));
  await runTool("createrepo_c", args, { env: options.env, timeoutMs: options.timeoutMs ?? 300_000 });
  return { repomd: join(options.dir, "repodata", "repomd.xml") };
}
