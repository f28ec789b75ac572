/**
 * Writes the JSON Schema of every message family to docs/schemas/<family>.json, for Python
 * and other non-TypeScript consumers. `--check` writes nothing and exits 1 when a file is
 * missing or differs from what the zod schemas produce (CI runs it as `pnpm schemas:check`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { familyJsonSchemaText, GENERATED_BY, MESSAGE_FAMILIES } from "../libs/messages/src/index.js";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const outDir = join(repoRoot, "docs", "schemas");

interface Planned {
  path: string;
  text: string;
}

function planned(): Planned[] {
  return MESSAGE_FAMILIES.map((family) => ({
    path: join(outDir, `${family.id}.json`),
    text: familyJsonSchemaText(family),
  }));
}

/** Files this script once wrote for a family that no longer exists. Others' files are left alone. */
function orphans(expected: readonly Planned[]): string[] {
  if (!existsSync(outDir)) return [];
  const wanted = new Set(expected.map((p) => p.path));
  return readdirSync(outDir)
    .filter((name) => name.endsWith(".json"))
    .map((name) => join(outDir, name))
    .filter((path) => !wanted.has(path) && ownedByUs(path));
}

function ownedByUs(path: string): boolean {
  try {
    const json = JSON.parse(readFileSync(path, "utf8")) as { "x-generated-by"?: unknown };
    return json["x-generated-by"] === GENERATED_BY;
  } catch {
    return false;
  }
}

function show(path: string): string {
  return relative(repoRoot, path);
}

function check(): number {
  const expected = planned();
  const problems: string[] = [];
  for (const { path, text } of expected) {
    if (!existsSync(path)) problems.push(`missing: ${show(path)}`);
    else if (readFileSync(path, "utf8") !== text) problems.push(`stale: ${show(path)}`);
  }
  for (const path of orphans(expected)) problems.push(`stale (no such family): ${show(path)}`);
  if (problems.length === 0) {
    console.log(`schemas: ${expected.length} family schemas in ${show(outDir)} are up to date`);
    return 0;
  }
  for (const problem of problems) console.error(`schemas: ${problem}`);
  console.error("schemas: run `pnpm schemas:export` and commit the result");
  return 1;
}

function write(): number {
  const expected = planned();
  mkdirSync(outDir, { recursive: true });
  let changed = 0;
  for (const { path, text } of expected) {
    if (existsSync(path) && readFileSync(path, "utf8") === text) continue;
    writeFileSync(path, text);
    console.log(`schemas: wrote ${show(path)}`);
    changed++;
  }
  for (const path of orphans(expected)) {
    unlinkSync(path);
    console.log(`schemas: removed ${show(path)}`);
    changed++;
  }
  console.log(`schemas: ${expected.length} family schemas, ${changed} file(s) changed`);
  return 0;
}

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== "--check");
if (unknown.length > 0) {
  console.error(`usage: export-schemas [--check] (unknown: ${unknown.join(" ")})`);
  process.exit(2);
}
process.exit(args.includes("--check") ? check() : write());
