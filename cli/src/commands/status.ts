// `atomic-ci status [CHANGESET]`: where change sets are, from the services' HTTP APIs. The
// test-runner's results API (ResultsDB v2) names each result's change set and compose commit;
// the gatekeeper's Greenwave API gives each compose's verdict at the compose gates; the
// dashboard's /api/state (when --dashboard is given) adds what only the bus tells (stages,
// releases). Nothing here reads the bus: history is not on it.
import { EXIT, UsageError } from "../errors.js";
import { formatTable, printJson } from "../io.js";

export interface StatusArgs {
  changeSet?: string;
  /** test-runner results API base URL. */
  results?: string;
  /** gatekeeper base URL. */
  gatekeeper?: string;
  /** dashboard base URL. */
  dashboard?: string;
  productVersion: string;
  contexts: readonly string[];
  /** Results read at most (newest first). */
  limit: number;
  json?: boolean;
}

export interface TestStatus {
  testcase: string;
  outcome: string;
  scenario?: string;
  log?: string;
}

export interface GateStatus {
  context: string;
  satisfied: boolean;
  summary: string;
  unsatisfied: string[];
}

export interface ChangeSetStatus {
  change_set_id: string;
  composes: { commit: string; compose_id?: string; tests: TestStatus[]; gates: GateStatus[] }[];
  /** Summary outcomes: how many tests passed, failed, are queued/running. */
  counts: Record<string, number>;
  stage: string;
}

/** The `--json` shape: stable, documented in docs/cli.md. */
export interface StatusReport {
  change_sets: ChangeSetStatus[];
  /** The dashboard's state as it serves it, when --dashboard was given. */
  dashboard?: unknown;
  sources: { results?: string; gatekeeper?: string; dashboard?: string };
}

const CHANGE_SET = /^cs-[0-9a-f]{16}$/;

function base(url: string, flag: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${flag} must be an http(s) URL, not ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`${flag} must be an http(s) URL, not ${JSON.stringify(url)}`);
  return parsed.href.endsWith("/") ? parsed.href : `${parsed.href}/`;
}

async function getJson(url: string, init?: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    // undici says only "fetch failed"; the cause names the refused connection or the timeout.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new Error(`${init?.method ?? "GET"} ${url}: ${cause}`, { cause: err });
  }
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return res.json();
}

interface RawResult {
  id: number;
  outcome: string;
  testcase: { name: string };
  data: Record<string, string[] | undefined>;
  ref_url?: string | null;
  submit_time?: string;
}

async function readResults(resultsUrl: string, args: StatusArgs): Promise<RawResult[]> {
  const out: RawResult[] = [];
  let next: string | null = `api/v2.0/results?limit=${Math.min(args.limit, 100)}${args.changeSet ? `&change_set_id=${encodeURIComponent(args.changeSet)}` : ""}`;
  while (next !== null && out.length < args.limit) {
    const page = (await getJson(new URL(next.replace(/^\//, ""), resultsUrl).href)) as { data: RawResult[]; next: string | null };
    out.push(...page.data);
    next = page.next;
  }
  return out.slice(0, args.limit);
}

async function gateOf(gatekeeper: string, commit: string, context: string, productVersion: string): Promise<GateStatus> {
  const body = { decision_context: context, product_version: productVersion, subject_type: "compose", subject_identifier: commit };
  const decision = (await getJson(new URL("api/v1.0/decision", gatekeeper).href, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })) as {
    policies_satisfied: boolean;
    summary: string;
    unsatisfied_requirements?: { type: string; testcase?: string }[];
  };
  return {
    context,
    satisfied: decision.policies_satisfied,
    summary: decision.summary,
    unsatisfied: (decision.unsatisfied_requirements ?? []).map((r) => `${r.type}${r.testcase ? ` ${r.testcase}` : ""}`),
  };
}

/** Where a change set stands, from what the APIs know: tests still running, failed, gated. */
function stageOf(cs: ChangeSetStatus): string {
  const gates = cs.composes.flatMap((c) => c.gates);
  if (gates.length > 0 && gates.every((g) => g.satisfied)) return "gated: passed";
  if ((cs.counts["QUEUED"] ?? 0) + (cs.counts["RUNNING"] ?? 0) > 0) return "testing";
  if (gates.some((g) => !g.satisfied && g.unsatisfied.some((u) => u.startsWith("test-result-missing")))) return "testing";
  if (gates.some((g) => !g.satisfied)) return "gated: failed";
  if ((cs.counts["FAILED"] ?? 0) + (cs.counts["ERROR"] ?? 0) > 0) return "tests failed";
  return cs.composes.length > 0 ? "tested" : "unknown";
}

export async function collectStatus(args: StatusArgs): Promise<StatusReport> {
  if (args.changeSet !== undefined && !CHANGE_SET.test(args.changeSet)) throw new UsageError(`CHANGESET must look like cs-0123456789abcdef, not ${JSON.stringify(args.changeSet)}`);
  if (!args.results && !args.dashboard) throw new UsageError("status needs --results URL (the test-runner's results API) or --dashboard URL");
  const report: StatusReport = { change_sets: [], sources: {} };
  if (args.results) {
    const resultsUrl = base(args.results, "--results");
    report.sources.results = resultsUrl;
    const byChangeSet = new Map<string, ChangeSetStatus>();
    // Latest first: the first result of a (commit, testcase, scenario) is its current one.
    const seen = new Set<string>();
    for (const r of await readResults(resultsUrl, args)) {
      const id = r.data["change_set_id"]?.[0];
      const commit = r.data["compose"]?.[0] ?? (r.data["type"]?.[0] === "compose" ? r.data["item"]?.[0] : undefined);
      if (!id || !commit) continue;
      const scenario = r.data["scenario"]?.[0];
      const key = `${commit}\0${r.testcase.name}\0${scenario ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const cs = byChangeSet.get(id) ?? { change_set_id: id, composes: [], counts: {}, stage: "" };
      byChangeSet.set(id, cs);
      let compose = cs.composes.find((c) => c.commit === commit);
      if (!compose) {
        compose = { commit, tests: [], gates: [] };
        const composeId = r.data["compose_id"]?.[0];
        if (composeId) compose.compose_id = composeId;
        cs.composes.push(compose);
      }
      compose.tests.push({ testcase: r.testcase.name, outcome: r.outcome, ...(scenario ? { scenario } : {}), ...(r.ref_url ? { log: r.ref_url } : {}) });
      cs.counts[r.outcome] = (cs.counts[r.outcome] ?? 0) + 1;
    }
    report.change_sets = [...byChangeSet.values()];
  }
  if (args.gatekeeper) {
    const gatekeeper = base(args.gatekeeper, "--gatekeeper");
    report.sources.gatekeeper = gatekeeper;
    for (const cs of report.change_sets) for (const c of cs.composes) for (const context of args.contexts) c.gates.push(await gateOf(gatekeeper, c.commit, context, args.productVersion));
  }
  for (const cs of report.change_sets) cs.stage = stageOf(cs);
  if (args.dashboard) {
    const dashboard = base(args.dashboard, "--dashboard");
    report.sources.dashboard = dashboard;
    report.dashboard = await getJson(new URL("api/state", dashboard).href);
  }
  return report;
}

export function renderStatus(report: StatusReport, detail: boolean): string {
  const parts: string[] = [];
  if (report.change_sets.length === 0 && report.sources.results) parts.push("no change sets in the results API");
  if (report.change_sets.length > 0) {
    parts.push(
      formatTable(
        ["CHANGE SET", "STAGE", "COMPOSE", "TESTS", "GATES"],
        report.change_sets.map((cs) => [
          cs.change_set_id,
          cs.stage,
          cs.composes.map((c) => c.commit.slice(0, 12)).join(" "),
          Object.entries(cs.counts)
            .sort()
            .map(([o, n]) => `${n} ${o.toLowerCase()}`)
            .join(", "),
          cs.composes.flatMap((c) => c.gates.map((g) => `${g.context.replace(/^atomic_ci_/, "")}: ${g.satisfied ? "pass" : "fail"}`)).join(", ") || "-",
        ]),
      ),
    );
  }
  if (detail) {
    for (const cs of report.change_sets) {
      for (const c of cs.composes) {
        parts.push(`\n${cs.change_set_id} compose ${c.commit}${c.compose_id ? ` (${c.compose_id})` : ""}`);
        parts.push(formatTable(["TEST", "SCENARIO", "OUTCOME", "LOG"], c.tests.map((t) => [t.testcase, t.scenario ?? "", t.outcome, t.log ?? ""]), 80));
        for (const g of c.gates) parts.push(`gate ${g.context}: ${g.satisfied ? "satisfied" : "not satisfied"} — ${g.summary}${g.unsatisfied.length ? `\n  unsatisfied: ${g.unsatisfied.join("; ")}` : ""}`);
      }
    }
  }
  if (report.dashboard !== undefined) parts.push(`\ndashboard state read from ${report.sources.dashboard ?? ""} (use --json to see it whole)`);
  return parts.join("\n");
}

export async function statusCommand(args: StatusArgs): Promise<number> {
  let report: StatusReport;
  try {
    report = await collectStatus(args);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (args.json) printJson({ error: message });
    else process.stderr.write(`atomic-ci status: ${message}\n`);
    return EXIT.failure;
  }
  if (args.json) printJson(report);
  else process.stdout.write(`${renderStatus(report, args.changeSet !== undefined)}\n`);
  return EXIT.ok;
}
