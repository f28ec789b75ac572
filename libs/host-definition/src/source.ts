import { open, stat } from "node:fs/promises";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import { FILE_KEY, type DefinitionIssue } from "./errors.js";

/**
 * Reading the files of a host definition: bounded in size, regular files only, YAML or
 * JSON by extension.
 */

/** Definition files larger than this are refused: they are hand-written text, not data. */
export const MAX_DEFINITION_FILE_BYTES = 1_048_576;

export type DefinitionFormat = "yaml" | "json";

export function formatOf(path: string): DefinitionFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  if (ext === ".json") return "json";
  return undefined;
}

export type ReadResult<T> = { ok: true; value: T } | { ok: false; issues: DefinitionIssue[] };

const fileIssue = (file: string, message: string): ReadResult<never> => ({ ok: false, issues: [{ file, key: FILE_KEY, message }] });

/**
 * The text of a definition file. `display` names it in issues. A FIFO or device would
 * block or never end, so only regular files are read, and never more than the limit.
 */
export async function readDefinitionText(path: string, display: string): Promise<ReadResult<string>> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return fileIssue(display, "is not a regular file");
    if (info.size > MAX_DEFINITION_FILE_BYTES) return fileIssue(display, `is larger than ${MAX_DEFINITION_FILE_BYTES} bytes`);
    const handle = await open(path, "r");
    try {
      // Read one byte past the limit so a file that grew after stat() is still caught.
      const buffer = Buffer.alloc(MAX_DEFINITION_FILE_BYTES + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length === buffer.length) return fileIssue(display, `is larger than ${MAX_DEFINITION_FILE_BYTES} bytes`);
      }
      return { ok: true, value: buffer.subarray(0, length).toString("utf8") };
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fileIssue(display, code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? String(err)})`);
  }
}

/** Parse definition text; the value is what the file holds (an empty YAML file is null). */
export function parseDefinitionText(text: string, format: DefinitionFormat, display: string): ReadResult<unknown> {
  if (format === "json") {
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (err) {
      return fileIssue(display, `invalid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  // `merge: false`: `<<` keys are YAML 1.1; in a strict file they are unknown keys.
  const doc = parseDocument(text, { merge: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      // The first line of a yaml error is its message with "at line L, column C:".
      issues: doc.errors.map((error) => ({ file: display, key: FILE_KEY, message: `invalid YAML: ${(error.message.split("\n")[0] ?? error.code).replace(/:$/, "")}` })),
    };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
}

/** Read and parse a definition file whose format its extension gives. */
export async function readDefinitionFile(path: string, display: string): Promise<ReadResult<unknown>> {
  const format = formatOf(path);
  if (!format) return fileIssue(display, "must end in .yaml, .yml or .json");
  const text = await readDefinitionText(path, display);
  return text.ok ? parseDefinitionText(text.value, format, display) : text;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
