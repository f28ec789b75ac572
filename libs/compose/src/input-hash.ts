// The input hash: everything that determines the tree, and nothing else (no time, no change
// set id, no machine path). Same hash → same tree → the existing commit is reused.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Treefile } from "@atomic-ci/host-definition";
import type { ResolvedPackage } from "./result.js";

/** Bump when the way trees are built changes, so that old commits are not reused for new rules. */
export const COMPOSER_FORMAT_VERSION = 1;

type Canonical = null | boolean | number | string | Canonical[] | { [key: string]: Canonical };

/** JSON with object keys sorted at every level: one text per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): Canonical {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, Canonical> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean" || value === null) return value;
  throw new TypeError(`cannot hash a ${typeof value}`);
}

export interface InputHashParts {
  treefile: Treefile;
  packages: readonly Pick<ResolvedPackage, "nevra" | "digest">[];
}

export async function computeInputHash({ treefile, packages }: InputHashParts): Promise<string> {
  // add-files by content: the absolute source path is this machine's business, not the tree's.
  const addFiles = [];
  for (const f of treefile.addFiles) {
    addFiles.push({ source: f.source, dest: f.dest, sha256: createHash("sha256").update(await readFile(f.sourcePath)).digest("hex") });
  }
  const doc = {
    format: COMPOSER_FORMAT_VERSION,
    treefile: { ...treefile, addFiles },
    packages: packages.map((p) => ({ nevra: p.nevra, digest: p.digest })).sort((a, b) => (a.nevra < b.nevra ? -1 : 1)),
  };
  return createHash("sha256").update(canonicalJson(doc)).digest("hex");
}
