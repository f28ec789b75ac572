// From what the test left behind to an outcome. STI's `test.log` in TEST_ARTIFACTS carries
// `PASS name` / `FAIL name` (also `ERROR name`) lines; when the test wrote none, the same lines
// in its output are read for the names of checks. A pass needs both: exit code 0 and no FAIL
// or ERROR line. (A test's own ERROR line is its verdict about the subject, so `failed`; only
// the runner's failures are `error`.)

export interface Check {
  result: "PASS" | "FAIL" | "ERROR";
  name: string;
}

export function parseChecks(text: string): Check[] {
  const checks: Check[] = [];
  for (const line of text.split("\n")) {
    const match = /^(PASS|FAIL|ERROR)\s+(\S.*)$/.exec(line.trim());
    if (match) checks.push({ result: match[1] as Check["result"], name: (match[2] ?? "").trim() });
  }
  return checks;
}

export function verdict(exitCode: number, checks: readonly Check[]): { outcome: "passed" | "failed"; reason?: string } {
  const bad = checks.find((c) => c.result !== "PASS");
  if (bad) return { outcome: "failed", reason: `${bad.result} ${bad.name}` };
  if (exitCode !== 0) return { outcome: "failed", reason: `exit code ${exitCode}` };
  return { outcome: "passed" };
}
