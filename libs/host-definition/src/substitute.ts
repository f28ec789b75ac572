import { showValue } from "./errors.js";

/**
 * `${basearch}` and `${releasever}` in treefile strings, as rpm-ostree substitutes them.
 * Any other `${name}` is an error rather than left in place: a literal `${foo}` in a ref
 * is always a mistake.
 */

export type Substituted = { ok: true; value: string } | { ok: false; message: string };

const VARIABLE = /\$\{([^}]*)\}/g;

export function substituteVariables(text: string, variables: Readonly<Record<string, string | undefined>>): Substituted {
  const problems: string[] = [];
  const value = text.replace(VARIABLE, (whole, name: string) => {
    if (!Object.hasOwn(variables, name)) {
      problems.push(`unknown variable ${showValue(whole)} (only \${basearch} and \${releasever} are defined)`);
      return whole;
    }
    const replacement = variables[name];
    if (replacement === undefined) {
      problems.push(`uses \${${name}} but ${name} is not set`);
      return whole;
    }
    return replacement;
  });
  if (problems.length === 0 && value.includes("${")) problems.push(`${showValue(text)} has an unclosed \${`);
  return problems.length > 0 ? { ok: false, message: problems.join("; ") } : { ok: true, value };
}
