// Asking the gatekeeper again, right before a delivery: POST /api/v1.0/decision for the
// compose at each gate context. A message said the gate passed; this says it still does now
// (a waiver revoked or a result added since then counts). Any doubt means no delivery.
import { z } from "zod";

export const DECISION_PATH = "/api/v1.0/decision";

export interface GateAnswer {
  context: string;
  satisfied: boolean;
  summary: string;
}

/** Asks whether a compose satisfies each context now; throws GateUnreachableError when it cannot tell. */
export interface GateChecker {
  check(commit: string, contexts: readonly string[]): Promise<GateAnswer[]>;
}

export class GateUnreachableError extends Error {
  readonly code = "GATEKEEPER_UNREACHABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GateUnreachableError";
  }
}

const DecisionAnswer = z.looseObject({
  policies_satisfied: z.boolean(),
  summary: z.string(),
  unsatisfied_requirements: z.array(z.unknown()).optional(),
});

export interface HttpGateCheckerOptions {
  baseUrl: string;
  productVersion: string;
  timeoutMs?: number;
}

/** The gatekeeper's (Greenwave-compatible) decision API over HTTP, with Node's fetch (undici). */
export class HttpGateChecker implements GateChecker {
  private readonly url: string;

  constructor(private readonly options: HttpGateCheckerOptions) {
    this.url = new URL(DECISION_PATH.slice(1), options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`).href;
  }

  async check(commit: string, contexts: readonly string[]): Promise<GateAnswer[]> {
    const answers: GateAnswer[] = [];
    for (const context of contexts) answers.push(await this.one(commit, context));
    return answers;
  }

  private async one(commit: string, context: string): Promise<GateAnswer> {
    const body = { product_version: this.options.productVersion, decision_context: context, subject_type: "compose", subject_identifier: commit };
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new GateUnreachableError(`cannot reach the gatekeeper at ${this.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const text = await res.text().catch(() => "");
    // 404 is Greenwave's "no applicable policy": a gate that does not exist is not satisfied.
    if (res.status === 404) return { context, satisfied: false, summary: `no applicable policy (${messageOf(text)})` };
    if (!res.ok) throw new GateUnreachableError(`the gatekeeper answered ${res.status} at ${context}: ${messageOf(text)}`);
    let parsed;
    try {
      parsed = DecisionAnswer.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) throw new GateUnreachableError(`the gatekeeper's answer at ${context} is not a decision: ${text.slice(0, 200)}`);
    return { context, satisfied: parsed.data.policies_satisfied, summary: parsed.data.summary };
  }
}

function messageOf(text: string): string {
  try {
    const value = JSON.parse(text) as { message?: unknown };
    if (typeof value.message === "string") return value.message;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200) || "(no body)";
}
