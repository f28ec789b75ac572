import { coverage, type CoverageReport } from "../coverage/report.js";
import { composeResults, latestCompose, type ComposeResults } from "../coverage/results.js";
import { EXIT, UsageError } from "../errors.js";

export interface CoverageArgs {
  definition?: string;
  distGit?: string;
  basearch: string;
  branch?: string;
  results?: string;
  compose?: string;
  json?: boolean;
  env: NodeJS.ProcessEnv;
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

function table(report: CoverageReport): string {
  const header = ["package", "tests", "formats", "gating.yaml", "binary RPMs"];
  const rows = report.packages.map((p) => [
    p.name,
    p.distGit ? (p.error ? "error" : String(p.tests)) : "-",
    p.distGit ? (p.formats.length > 0 ? p.formats.join("+") : "none") : "no dist-git",
    p.hasGatingYaml ? "yes" : "no",
    p.binaries.join(" "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** `coverage`: every host package with its dist-git tests and gating.yaml, and the two key-result figures. */
export async function coverageCommand(args: CoverageArgs): Promise<number> {
  if (args.definition === undefined) throw new UsageError("coverage needs --definition DIR (or $ATOMIC_CI_DEFINITION)");
  if (args.distGit === undefined) throw new UsageError("coverage needs --dist-git DIR (or $ATOMIC_CI_DIST_GIT)");
  const report = await coverage(
    { definition: args.definition, distGit: args.distGit, basearch: args.basearch, ...(args.branch === undefined ? {} : { branch: args.branch }) },
    { env: args.env },
  );
  let results: ComposeResults | null = null;
  let resultsNote: string | null = null;
  if (args.results === undefined) resultsNote = "no results source";
  else {
    const compose = args.compose ?? (await latestCompose(args.results));
    if (compose === undefined) resultsNote = "no compose results yet";
    else results = await composeResults(args.results, compose);
  }
  const errors = report.packages.filter((p) => p.error !== undefined);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ packages: report.packages, withTests: report.withTests, total: report.total, share: report.share, results, resultsNote })}\n`);
  } else {
    process.stdout.write(`${table(report)}\n\n`);
    process.stdout.write(`host packages with at least one test: ${report.withTests}/${report.total} (${percent(report.share)})\n`);
    if (results) {
      process.stdout.write(`tests passed on the latest compose ${results.compose}: ${results.passed}/${results.tests} (${percent(results.share)})\n`);
      for (const t of results.notPassed) process.stdout.write(`  ${t.outcome}: ${t.testcase}\n`);
    } else process.stdout.write(`tests passed on the latest compose: ${resultsNote ?? ""}\n`);
    for (const p of errors) process.stdout.write(`error: ${p.name}: ${p.error ?? ""}\n`);
  }
  return EXIT.ok;
}
