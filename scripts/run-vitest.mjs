#!/usr/bin/env node
// Runs every vitest project and ends with one plain summary line ("tests: N passed, N failed,
// N skipped") that tools reading only the last lines of CI output understand.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const out = join(process.cwd(), ".vitest-results.json");
rmSync(out, { force: true });
const r = spawnSync(
  "vitest",
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { stdio: "inherit" },
);
let passed = 0, failed = 0, skipped = 0;
if (existsSync(out)) {
  const res = JSON.parse(readFileSync(out, "utf8"));
  passed = res.numPassedTests ?? 0;
  failed = (res.numFailedTests ?? 0);
  skipped = (res.numPendingTests ?? 0) + (res.numTodoTests ?? 0);
  if (res.numFailedTestSuites > 0 && failed === 0) failed = res.numFailedTestSuites;
}
const status = r.error ? 1 : (r.status ?? 1);
if (status !== 0 && failed === 0) failed = 1;
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(status);
