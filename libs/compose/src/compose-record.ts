// The compose JSON (rpm-ostree's `--write-composejson-to` shape, plus `reused`) and the new
// lockfile, written side by side under `composes/`.
import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ToolContext } from "@atomic-ci/tools";
import type { Composed, PackageDiff, ResolvedPackage } from "./result.js";
import { ostreeShow, type CommitInfo } from "./tools/ostree.js";

export interface RecordInput {
  repo: string;
  ref: string;
  commit: string;
  version: string;
  inputHash: string;
  packages: ResolvedPackage[];
  lockfile: string;
  composesDir: string;
  reused: boolean;
  imported: string[];
  parent?: string;
  pkgdiff?: PackageDiff;
  timings: Record<string, number>;
  depsolveCached: boolean;
  /** The commit's content checksum and date when already read (a reuse); otherwise `ostree show` is asked. */
  info?: CommitInfo;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

export async function writeComposeRecord(input: RecordInput, ctx: ToolContext): Promise<Composed> {
  const info = input.info ?? (await ostreeShow(input.repo, input.commit, ctx));
  const id = newComposeId(new Date());
  await mkdir(input.composesDir, { recursive: true });
  const composeJson = join(input.composesDir, `${id}.json`);
  const pkgdiff = input.pkgdiff ?? { added: [], removed: [], changed: [] };
  const json = {
    "compose-id": id,
    ref: input.ref,
    "ostree-commit": input.commit,
    "ostree-content-checksum": info.contentChecksum,
    "ostree-version": input.version,
    "ostree-timestamp": new Date(info.timestamp * 1000).toISOString(),
    "rpm-ostree-inputhash": input.inputHash,
    ...(input.parent ? { "ostree-parent-commit": input.parent } : {}),
    reused: input.reused,
    "pkgcache-imported": input.imported,
    packages: input.packages.map((p) => p.nevra),
    pkgdiff,
  };
  await writeAtomically(join(input.composesDir, `${id}.lock.json`), input.lockfile);
  await writeAtomically(composeJson, `${JSON.stringify(json, null, 2)}\n`);
  return {
    type: "composed",
    ref: input.ref,
    commit: input.commit,
    version: input.version,
    timestamp: info.timestamp,
    inputHash: input.inputHash,
    reused: input.reused,
    ...(input.parent ? { parent: input.parent } : {}),
    packages: input.packages,
    pkgdiff,
    lockfile: input.lockfile,
    composeJson,
    imported: input.imported,
    timings: input.timings,
    depsolveCached: input.depsolveCached,
  };
}

/** A compose id: sortable by time, unique across composers. */
export function newComposeId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomBytes(4).toString("hex")}`;
}
