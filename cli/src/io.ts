import { readFile } from "node:fs/promises";
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
