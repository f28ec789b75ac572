import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ToolEnv } from "@atomic-ci/tools";
import { authorFromGitConfig, DefinitionError, OVERRIDES_FILE, parseAuthor, pinPackage, unpinPackage, type Author, type EditResult } from "../definition/pin.js";
import { EXIT, UsageError } from "../errors.js";
import { printJson } from "../io.js";

export interface DefinitionCommandOptions {
  /** The definition repository (--definition, or ATOMIC_CI_DEFINITION read by main.ts). */
  definition?: string;
  /** `Name <email>`; default git config user.name/user.email. */
  author?: string;
  json?: boolean;
  env: ToolEnv;
}

async function prepare(options: DefinitionCommandOptions): Promise<{ dir: string; author: Author }> {
  if (!options.definition) throw new UsageError("give the host definition repository with --definition DIR (or ATOMIC_CI_DEFINITION)");
  const dir = resolve(options.definition);
  if (!existsSync(join(dir, OVERRIDES_FILE))) throw new UsageError(`${dir} has no ${OVERRIDES_FILE}: not a host definition repository`);
  let author: Author | undefined;
  if (options.author !== undefined) {
    author = parseAuthor(options.author);
    if (!author) throw new UsageError(`--author must look like "Name <email>", not ${JSON.stringify(options.author)}`);
  } else {
    author = await authorFromGitConfig(dir, options.env);
    if (!author) throw new UsageError('no git identity: give --author "Name <email>" or set git config user.name and user.email');
  }
  return { dir, author };
}

function report(result: EditResult, what: string, options: DefinitionCommandOptions): void {
  if (options.json) printJson({ ok: true, changed: result.changed, ...(result.changed ? { commit: result.commit } : {}) });
  else process.stdout.write(result.changed ? `${what}: commit ${result.commit}\n` : `${what}: already so, nothing committed\n`);
}

/** A bad name, version or reason is a usage error (2); the rest (git failing) a failure (1). */
async function guarded(work: () => Promise<void>): Promise<number> {
  try {
    await work();
    return EXIT.ok;
  } catch (err) {
    if (err instanceof DefinitionError) {
      process.stderr.write(`atomic-ci: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}

/** `pin NAME EVR --reason URL`: hold NAME at EVR in the definition, as a git commit. */
export function pinCommand(name: string, evr: string, reason: string, options: DefinitionCommandOptions): Promise<number> {
  return guarded(async () => {
    const { dir, author } = await prepare(options);
    const result = await pinPackage({ dir, author, env: options.env }, { name, evr, reason });
    report(result, `pinned ${name} to ${evr} in ${dir}`, options);
  });
}

/** `unpin NAME`: drop NAME's pin, as a git commit. */
export function unpinCommand(name: string, reason: string | undefined, options: DefinitionCommandOptions): Promise<number> {
  return guarded(async () => {
    const { dir, author } = await prepare(options);
    const result = await unpinPackage({ dir, author, env: options.env }, name, reason);
    report(result, `unpinned ${name} in ${dir}`, options);
  });
}
