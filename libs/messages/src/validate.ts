import type { core } from "zod";
import type { MessageSchema } from "./schema.js";

export interface ValidationIssue {
  /** Dotted path of the offending field, e.g. `artifact.nvr` or `system.0.os`; `(root)` for the body itself. */
  path: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

export const ROOT_PATH = "(root)";

/** Validate a message body against its schema, reporting every problem with a readable path. */
export function validateBody<T>(schema: MessageSchema<T>, body: unknown): ValidationResult<T> {
  const parsed = schema.body.safeParse(body);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, issues: flattenIssues(parsed.error.issues, []) };
}

type Issue = core.$ZodIssue;
type PathKey = PropertyKey;

/**
 * A failed union reports one issue list per branch; of those we show the branch that got
 * furthest (fewest problems, then deepest path), which is the shape the sender meant.
 */
function flattenIssues(issues: readonly Issue[], prefix: readonly PathKey[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const best = pickBranch(issue.errors);
      out.push(...flattenIssues(best, path));
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
  return out;
}

function pickBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] {
  let best = branches[0] ?? [];
  for (const branch of branches.slice(1)) {
    if (branch.length < best.length || (branch.length === best.length && depth(branch) > depth(best))) {
      best = branch;
    }
  }
  return best;
}

function depth(issues: readonly Issue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

export function formatPath(path: readonly PathKey[]): string {
  if (path.length === 0) return ROOT_PATH;
  return path.map((key) => (typeof key === "symbol" ? key.toString() : String(key))).join(".");
}
