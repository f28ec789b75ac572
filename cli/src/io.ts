import { readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { parseMessageDocument, type MessageDocument } from "@atomic-ci/messages";
import { UsageError } from "./errors.js";

/** Read a message file in any of the documented shapes; a bare body needs `topic`. */
export async function readMessageFile(path: string, topic: string | undefined): Promise<MessageDocument & { topic: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not JSON: ${(err as Error).message}`);
  }
  const doc = parseMessageDocument(json, topic);
  if (doc.topic === undefined) {
    throw new UsageError(`${path} is a bare message body: give its topic with --topic`);
  }
  return { ...doc, topic: doc.topic };
}

/** Write one line of JSON to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Rows as aligned columns under a header, for terminals and pipes alike (no colour, no box
 * drawing: `grep` and `awk` keep working). Cells are single-line; long ones are cut with `…`.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], maxCell = 60): string {
  const clean = (cell: string) => {
    const flat = cell.replace(/\s+/g, " ").trim();
    return flat.length > maxCell ? `${flat.slice(0, maxCell - 1)}…` : flat;
  };
  const all = [header.map(clean), ...rows.map((r) => header.map((_, i) => clean(r[i] ?? "")))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
  return [line(all[0] ?? []), line(widths.map((w) => "-".repeat(w))), ...all.slice(1).map(line)].join("\n");
}

/** The operator account when `--by`/`--username` is not given: the local user ("unknown" where there is no passwd entry, e.g. some containers). */
export function localOperator(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}
