import { parseAllDocuments, type Tags, type YAMLMap, type YAMLSeq } from "yaml";
import { z } from "zod";

export interface PassingTestCaseRule {
  type: "PassingTestCaseRule";
  test_case_name: string;
  /** null: results of every scenario count; a string: only results with exactly that scenario. */
  scenario: string | null;
  /** ISO times; the rule is enforced only for decisions at or after / before them. */
  valid_since?: string;
  valid_until?: string;
}

export interface RemoteRule {
  type: "RemoteRule";
  /** When true, a missing gating.yaml is an unsatisfied requirement; otherwise it is skipped. */
  required: boolean;
  /** URL templates handed to the fetcher (empty: the fetcher's configured default). */
  sources: string[];
}

export type Rule = PassingTestCaseRule | RemoteRule;

export interface Policy {
  id: string;
  /** Where the policy came from (a file name or the gating.yaml's URL), echoed in requirements. */
  source: string | null;
  decision_contexts: string[];
  subject_types: string[];
  product_versions: string[];
  /** undefined: every package; otherwise globs of the packages it applies to (koji_build only). */
  packages?: string[];
  excluded_packages: string[];
  rules: Rule[];
}

/** A tagged YAML map, kept apart from plain maps so a rule is only what its tag says it is. */
class Tagged {
  constructor(
    readonly tag: string,
    readonly value: unknown,
  ) {}
}

const KNOWN_TAGS = ["!Policy", "!PassingTestCaseRule", "!RemoteRule"] as const;

const customTags: Tags = KNOWN_TAGS.map((tag) => ({
  tag,
  collection: "map" as const,
  // toJSON resolves nested tagged maps first (they are already Tagged scalars by now).
  resolve: (map: YAMLMap.Parsed | YAMLSeq.Parsed) => new Tagged(tag, map.toJSON()),
}));

const isoTime = z.string().refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO date/time");
const globList = z.array(z.string().min(1));

const PassingTestCaseRuleFields = z.strictObject({
  test_case_name: z.string().min(1),
  scenario: z.string().nullable().optional(),
  valid_since: isoTime.optional(),
  valid_until: isoTime.optional(),
});

const RemoteRuleFields = z.strictObject({
  required: z.boolean().optional(),
  sources: z.array(z.string().min(1)).optional(),
});

/** Both spellings Greenwave accepts; which are required depends on where the policy lives. */
const PolicyFields = z.strictObject({
  id: z.string().min(1).optional(),
  decision_context: z.string().min(1).optional(),
  decision_contexts: z.array(z.string().min(1)).optional(),
  subject_type: z.string().min(1).optional(),
  subject_types: z.array(z.string().min(1)).optional(),
  product_versions: globList.optional(),
  packages: globList.optional(),
  excluded_packages: globList.optional(),
  rules: z.array(z.unknown()),
});

export interface ParseOptions {
  /** A package's gating.yaml: `id` optional, `!RemoteRule` forbidden, defaults from `parent`. */
  remote?: boolean;
  /** The policy holding the RemoteRule: remote policies inherit its subject types and product versions. */
  parent?: Policy;
  source?: string;
}

export type ParseResult = { ok: true; policies: Policy[] } | { ok: false; errors: string[] };

function issuesToErrors(where: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return `${where}${path ? `: ${path}` : ""}: ${issue.message}`;
  });
}

function parseRule(raw: unknown, where: string, options: ParseOptions, errors: string[]): Rule | undefined {
  if (!(raw instanceof Tagged) || raw.tag === "!Policy") {
    errors.push(`${where}: a rule must be tagged !PassingTestCaseRule or !RemoteRule`);
    return undefined;
  }
  if (raw.tag === "!RemoteRule") {
    if (options.remote) {
      errors.push(`${where}: !RemoteRule is not allowed in a gating.yaml`);
      return undefined;
    }
    const parsed = RemoteRuleFields.safeParse(raw.value ?? {});
    if (!parsed.success) return void errors.push(...issuesToErrors(where, parsed.error));
    return { type: "RemoteRule", required: parsed.data.required ?? false, sources: parsed.data.sources ?? [] };
  }
  const parsed = PassingTestCaseRuleFields.safeParse(raw.value);
  if (!parsed.success) return void errors.push(...issuesToErrors(where, parsed.error));
  const { test_case_name, scenario, valid_since, valid_until } = parsed.data;
  return {
    type: "PassingTestCaseRule",
    test_case_name,
    scenario: scenario ?? null,
    ...(valid_since === undefined ? {} : { valid_since }),
    ...(valid_until === undefined ? {} : { valid_until }),
  };
}

function parsePolicy(raw: unknown, index: number, options: ParseOptions, errors: string[]): Policy | undefined {
  const where = `document ${index + 1}`;
  if (!(raw instanceof Tagged) || raw.tag !== "!Policy") {
    errors.push(`${where}: missing !Policy tag`);
    return undefined;
  }
  const parsed = PolicyFields.safeParse(raw.value);
  if (!parsed.success) return void errors.push(...issuesToErrors(where, parsed.error));
  const fields = parsed.data;
  const before = errors.length;
  const need = (ok: boolean, message: string): void => {
    if (!ok) errors.push(`${where}: ${message}`);
  };
  need(!(fields.decision_context && fields.decision_contexts), "give decision_context or decision_contexts, not both");
  need(!(fields.subject_type && fields.subject_types), "give subject_type or subject_types, not both");
  const contexts = fields.decision_contexts ?? (fields.decision_context ? [fields.decision_context] : []);
  need(contexts.length > 0, "decision_contexts: required");
  const subjectTypes = fields.subject_types ?? (fields.subject_type ? [fields.subject_type] : options.parent?.subject_types ?? []);
  const productVersions = fields.product_versions ?? options.parent?.product_versions ?? [];
  if (!options.remote) {
    need(fields.id !== undefined, "id: required");
    need(subjectTypes.length > 0, "subject_type: required");
    need(productVersions.length > 0, "product_versions: required");
  }
  const rules = fields.rules.map((rule, i) => parseRule(rule, `${where}: rules.${i}`, options, errors));
  if (errors.length > before) return undefined;
  return {
    id: fields.id ?? `${options.source ?? "gating.yaml"}#${index + 1}`,
    source: options.source ?? null,
    decision_contexts: contexts,
    // Greenwave's default for a gating.yaml that names no subject type and has no parent.
    subject_types: subjectTypes.length > 0 ? subjectTypes : ["koji_build"],
    product_versions: productVersions,
    ...(fields.packages === undefined ? {} : { packages: fields.packages }),
    excluded_packages: fields.excluded_packages ?? [],
    rules: rules.filter((rule): rule is Rule => rule !== undefined),
  };
}

/** Parse a multi-document `--- !Policy` YAML text, collecting every error rather than the first. */
export function parsePolicies(text: string, options: ParseOptions = {}): ParseResult {
  const errors: string[] = [];
  const docs = parseAllDocuments(text, { customTags, prettyErrors: false });
  const policies: Policy[] = [];
  docs.forEach((doc, index) => {
    const where = `document ${index + 1}`;
    // An unknown tag is only a warning to the yaml library; for policies it is an error.
    const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code === "TAG_RESOLVE_FAILED")];
    if (problems.length > 0) {
      errors.push(...problems.map((p) => `${where}: ${p.message}`));
      return;
    }
    if (doc.contents === null) return;
    const policy = parsePolicy(doc.toJS() as unknown, index, options, errors);
    if (policy) policies.push(policy);
  });
  if (errors.length === 0 && policies.length === 0) errors.push("no !Policy documents");
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policies };
}

/** What Greenwave's `validate-gating-yaml` checks: a gating.yaml that parses into remote policies. */
export function validateGatingYaml(text: string): { ok: boolean; errors: string[] } {
  const result = parsePolicies(text, { remote: true });
  return result.ok ? { ok: true, errors: [] } : { ok: false, errors: result.errors };
}
