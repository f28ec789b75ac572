import { resolve } from "node:path";
import { displayPath } from "./confine.js";
import { DefinitionError, FILE_KEY } from "./errors.js";
import { formatOf, parseDefinitionText, readDefinitionText } from "./source.js";

/** Loading a single definition file (lockfile, overrides) named by a caller. */

export interface LoadFileOptions {
  /** Issues name the file relative to this directory (the definition root). */
  root?: string;
}

export function displayName(path: string, options: LoadFileOptions | undefined): string {
  if (options?.root === undefined) return path;
  const shown = displayPath(resolve(options.root), resolve(path));
  return shown.startsWith("../") ? path : shown;
}

export async function readDefinitionTextOrThrow(path: string, display: string): Promise<string> {
  const read = await readDefinitionText(path, display);
  if (!read.ok) throw new DefinitionError(read.issues);
  return read.value;
}

/** Parse text as the format its file name says (JSON when the name says neither). */
export function parseOrThrow(text: string, file: string): unknown {
  const parsed = parseDefinitionText(text, formatOf(file) ?? "json", file);
  if (!parsed.ok) throw new DefinitionError(parsed.issues);
  return parsed.value;
}

export function fileIssue(file: string, message: string): DefinitionError {
  return new DefinitionError([{ file, key: FILE_KEY, message }]);
}
