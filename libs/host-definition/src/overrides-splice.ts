import { Document, isMap, isScalar, parseDocument, type Node, type Pair, type YAMLMap } from "yaml";
import type { OverrideEntry } from "./overrides.js";

/**
 * Changing one entry of a YAML overrides file in place. The file is hand-written and
 * reviewed in git, so an edit changes only the lines of the entry concerned: yaml's
 * Document gives the position of every node, and the text is spliced there; comments,
 * blank lines and quoting elsewhere stay byte for byte. (Re-stringifying the whole
 * Document would re-space comments and move blank lines.) The callers validate the file
 * before and after.
 */

/** The entry as plain data, keys in the order people write them. */
export function entryData(entry: OverrideEntry): Record<string, unknown> {
  const data: Record<string, unknown> = entry.evra !== undefined ? { evra: entry.evra } : { evr: entry.evr };
  if (entry.digest !== undefined) data.digest = entry.digest;
  data.metadata = entry.metadata;
  return data;
}

/** `name:` and its block-style value, indented by `indent` spaces, ending in a newline. */
function entryText(name: string, entry: OverrideEntry, indent: number): string {
  const text = new Document(new Map([[name, entryData(entry)]])).toString({ lineWidth: 0 });
  return text
    .split("\n")
    .map((line) => (line === "" ? line : " ".repeat(indent) + line))
    .join("\n");
}

const lineStart = (text: string, offset: number): number => text.lastIndexOf("\n", offset - 1) + 1;
const lineEnd = (text: string, offset: number): number => {
  const newline = text.indexOf("\n", offset);
  return newline < 0 ? text.length : newline + 1;
};
const indentOf = (line: string): number => line.length - line.trimStart().length;
const isComment = (line: string): boolean => line.trimStart().startsWith("#");

interface EntryBlock {
  name: string;
  /** Where the entry's text starts: its own comment lines above the key, if any. */
  start: number;
  keyLine: number;
  /** The end of the entry's last non-blank line (its value, deeper comments). */
  contentEnd: number;
  /** Column of the key. */
  indent: number;
}

const isBlank = (line: string): boolean => line.trim() === "";

/**
 * The lines each entry of a block-style `packages` map occupies. Lines are what a person
 * sees as the entry: comment lines right above the key at its indentation, the key, and
 * every following line that is blank or indented deeper. (Node ranges alone would not
 * do: yaml counts a comment after the last entry as part of its value.)
 */
function entryBlocks(text: string, map: YAMLMap): EntryBlock[] {
  return map.items.map((pair: Pair): EntryBlock => {
    const key = pair.key as Node;
    const keyStart = key.range?.[0] ?? 0;
    const keyLine = lineStart(text, keyStart);
    const indent = keyStart - keyLine;
    let start = keyLine;
    while (start > 0) {
      const previous = lineStart(text, start - 1);
      const line = text.slice(previous, start - 1);
      if (!isComment(line) || indentOf(line) !== indent) break;
      start = previous;
    }
    let contentEnd = lineEnd(text, keyStart);
    for (let at = contentEnd; at < text.length; ) {
      const next = lineEnd(text, at);
      const line = text.slice(at, next).replace(/\n$/, "");
      if (!isBlank(line) && indentOf(line) <= indent) break;
      if (!isBlank(line)) contentEnd = next;
      at = next;
    }
    return { name: String(isScalar(key) ? key.value : key), start, keyLine, contentEnd, indent };
  });
}

/** "\n" when entries are separated by a blank line, so a new one is too. */
function separatorOf(text: string, blocks: readonly EntryBlock[]): string {
  const [first, second] = blocks;
  return first && second && /\n[ \t]*\n/.test(text.slice(first.contentEnd - 1, second.start)) ? "\n" : "";
}

function isSorted(names: readonly string[]): boolean {
  return names.every((name, i) => i === 0 || (names[i - 1] ?? "") <= name);
}

function withFinalNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

/** Set (add or replace) one entry, splicing only its lines. */
export function setEntryYaml(text: string, name: string, entry: OverrideEntry): string {
  const doc = parseDocument(text, { merge: false });
  const contents = doc.contents;
  const packagesPair = isMap(contents) ? contents.items.find((p) => isScalar(p.key) && p.key.value === "packages") : undefined;
  const packages = packagesPair?.value;
  if (!packagesPair || packages === null || (isScalar(packages) && packages.value === null)) {
    // No `packages` yet, or `packages:` with nothing: start the block after the key.
    if (!packagesPair) return `${withFinalNewline(text)}packages:\n${entryText(name, entry, 2)}`;
    const keyEnd = (packagesPair.key as Node).range?.[1] ?? 0;
    const at = lineEnd(text, keyEnd);
    return `${withFinalNewline(text.slice(0, at))}${entryText(name, entry, 2)}${text.slice(at)}`;
  }
  // parseOverrides accepted the file, so `packages` is a mapping here.
  if (!isMap(packages)) throw new Error("packages is not a mapping");
  if (packages.flow) {
    const [start, end] = packages.range;
    if (packages.items.length === 0) {
      // `packages: {}` becomes a block map.
      return `${text.slice(0, start).replace(/[ \t]+$/, "")}\n${entryText(name, entry, 2).replace(/\n$/, "")}${text.slice(end)}`;
    }
    // A non-empty flow map has no lines of its own to splice: rewrite it whole.
    doc.setIn(["packages", name], doc.createNode(entryData(entry)));
    return doc.toString({ lineWidth: 0 });
  }
  const blocks = entryBlocks(text, packages);
  const existing = blocks.find((b) => b.name === name);
  const indent = blocks[0]?.indent ?? 2;
  if (existing) {
    // Keep the comments above the entry; replace the entry itself.
    return `${text.slice(0, existing.keyLine)}${entryText(name, entry, indent)}${text.slice(existing.contentEnd)}`;
  }
  const separator = separatorOf(text, blocks);
  const before = isSorted(blocks.map((b) => b.name)) ? blocks.find((b) => b.name > name) : undefined;
  if (before) return `${text.slice(0, before.start)}${entryText(name, entry, indent)}${separator}${text.slice(before.start)}`;
  const last = blocks.at(-1);
  const at = last ? last.contentEnd : text.length;
  return `${withFinalNewline(text.slice(0, at))}${separator}${entryText(name, entry, indent)}${text.slice(at)}`;
}

/** Remove one entry and its lines; an emptied `packages` becomes `packages: {}`. */
export function removeEntryYaml(text: string, name: string): string {
  const doc = parseDocument(text, { merge: false });
  const contents = doc.contents;
  const packagesPair = isMap(contents) ? contents.items.find((p) => isScalar(p.key) && p.key.value === "packages") : undefined;
  const packages = packagesPair?.value;
  if (!packagesPair || !isMap(packages)) return text;
  if (packages.flow) {
    doc.deleteIn(["packages", name]);
    return doc.toString({ lineWidth: 0 });
  }
  const blocks = entryBlocks(text, packages);
  const index = blocks.findIndex((b) => b.name === name);
  const block = blocks[index];
  if (!block) return text;
  const next = blocks[index + 1];
  const previous = blocks[index - 1];
  // An entry goes with the blank lines after it; the last one with those before it.
  const [from, to] = next ? [block.start, next.start] : previous ? [previous.contentEnd, block.contentEnd] : [block.start, block.contentEnd];
  const removed = `${text.slice(0, from)}${text.slice(to)}`;
  if (blocks.length > 1) return removed;
  const keyEnd = (packagesPair.key as Node).range?.[1] ?? 0;
  const colon = removed.indexOf(":", keyEnd);
  return `${removed.slice(0, colon + 1)} {}${removed.slice(colon + 1)}`;
}
