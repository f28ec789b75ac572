/**
 * Regenerates the key table of docs/config.md from `commonConfigSchema` (its `.describe()`
 * texts, defaults and env names), leaving the prose around it alone. `--check` writes
 * nothing and exits 1 when the table is stale (a unit test checks the same).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { commonConfigSchema } from "../libs/runtime/src/config/common.js";
import { renderConfigTable, replaceConfigTable } from "../libs/runtime/src/config/docs.js";

const path = fileURLToPath(new URL("../docs/config.md", import.meta.url));
const current = readFileSync(path, "utf8");
const wanted = replaceConfigTable(current, renderConfigTable(commonConfigSchema));
if (process.argv.includes("--check")) {
  if (wanted !== current) {
    process.stderr.write("docs/config.md is out of date: run `pnpm exec tsx scripts/config-docs.ts`\n");
    process.exit(1);
  }
} else if (wanted !== current) {
  writeFileSync(path, wanted);
  process.stdout.write("docs/config.md updated\n");
}
