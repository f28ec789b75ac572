import { EXIT, UsageError } from "../errors.js";
import { localOperator, printJson } from "../io.js";

export interface WaiveArgs {
  subjectType: string;
  subject: string;
  testcase: string;
  productVersion: string;
  comment: string;
  scenario?: string;
  revoke?: boolean;
  /** Base URL of the gatekeeper (--url, or ATOMIC_CI_GATEKEEPER_URL read by main.ts). */
  url?: string;
  username?: string;
  json?: boolean;
}

const WAIVERS_PATH = "/api/v1.0/waivers";

function waiversUrl(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, not ${JSON.stringify(base)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--url must be an http(s) URL, not ${JSON.stringify(base)}`);
  return new URL(WAIVERS_PATH, url.href.endsWith("/") ? url.href : `${url.href}/`).href;
}

/**
 * `waive`: store a waiver (or, with --revoke, a `waived: false` one) through the gatekeeper's
 * WaiverDB-compatible API. Exit 0 stored, 1 the gatekeeper failed or is unreachable, 2 bad arguments
 * (including a waiver the gatekeeper rejects as malformed).
 */
export async function waiveCommand(args: WaiveArgs): Promise<number> {
  if (!args.url) throw new UsageError("give the gatekeeper with --url URL (or ATOMIC_CI_GATEKEEPER_URL)");
  const url = waiversUrl(args.url);
  const body = {
    subject_type: args.subjectType,
    subject_identifier: args.subject,
    testcase: args.testcase,
    product_version: args.productVersion,
    waived: args.revoke !== true,
    comment: args.comment,
    username: args.username ?? localOperator(),
    ...(args.scenario !== undefined ? { scenario: args.scenario } : {}),
  };
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    process.stderr.write(`atomic-ci: cannot reach the gatekeeper at ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
  const text = await res.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text) as unknown;
  } catch {
    answer = { message: text };
  }
  if (!res.ok) {
    const message = typeof answer === "object" && answer !== null && "message" in answer ? String(answer.message) : text;
    process.stderr.write(`atomic-ci: the gatekeeper refused the waiver (${res.status}): ${message}\n`);
    return res.status === 400 ? EXIT.usage : EXIT.failure;
  }
  if (args.json) {
    printJson(answer);
  } else {
    const w = answer as { id: number; waived: boolean; testcase: string; subject_type: string; subject_identifier: string; product_version: string; scenario?: string | null };
    process.stdout.write(
      `waiver ${w.id}: ${w.waived ? "waived" : "revoked"} ${w.testcase}${w.scenario ? ` (scenario ${w.scenario})` : ""} for ${w.subject_type} ${w.subject_identifier} in ${w.product_version}\n`,
    );
  }
  return EXIT.ok;
}
