import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultRegistry } from "./registry.js";
import { topicMatches } from "./topic.js";
import { isJsonObject, parseMessageDocument, type DocumentShape } from "./document.js";

/** How a fixture file stores its message (see the fixtures' SOURCES.md). */
export type FixtureShape = DocumentShape;

/** A stored message, whatever file shape it came in. */
export interface FedoraFixture {
  /** File name within the fixtures directory. */
  file: string;
  shape: FixtureShape;
  /** Routing key as stored, or, for bare bodies, the topic read from the file name. */
  topic: string;
  body: Record<string, unknown>;
  /** AMQP headers, for fedora-messaging dumps only. */
  headers?: Record<string, unknown>;
  /**
   * What follows the topic in the file name of a bare body (`template`, `stg-2019`), or
   * undefined. `template` marks the empty Fedora CI skeletons, which are not messages.
   */
  variant?: string;
}

export interface LoadFixturesOptions {
  /**
   * Topics (wildcards allowed) a bare-body file name may start with, used to split
   * `resultsdb.result.new.stg-2019.json` into topic and variant. Default: the topics of
   * {@link defaultRegistry}. A name that starts with none of them is all topic, except a
   * final `.template`.
   */
  knownTopics?: readonly string[];
}

/** Load every `*.json` message in `dir` (not recursing into sub-directories), sorted by file name. */
export function loadFedoraFixtures(dir: string, options: LoadFixturesOptions = {}): FedoraFixture[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => entry.name)
    .sort()
    .map((file) => fixtureFromJson(file, JSON.parse(readFileSync(join(dir, file), "utf8")) as unknown, options));
}

/** Convert one parsed fixture file to a {@link FedoraFixture}. */
export function fixtureFromJson(file: string, json: unknown, options: LoadFixturesOptions = {}): FedoraFixture {
  if (!isJsonObject(json)) throw new Error(`${file}: a message fixture must be a JSON object`);
  const doc = parseMessageDocument(json);
  const body = doc.body as Record<string, unknown>;
  if (doc.shape === "fm-dump") {
    const fixture: FedoraFixture = { file, shape: doc.shape, topic: doc.topic as string, body };
    if (isJsonObject(json["headers"])) fixture.headers = doc.headers;
    return fixture;
  }
  if (doc.topic !== undefined) return { file, shape: doc.shape, topic: doc.topic, body };
  const { topic: fromName, variant } = topicFromFileName(
    file,
    options.knownTopics ?? defaultRegistry.all().map((schema) => schema.topic),
  );
  const fixture: FedoraFixture = { file, shape: "body", topic: fromName, body };
  if (variant) fixture.variant = variant;
  return fixture;
}

function topicFromFileName(file: string, knownTopics: readonly string[]): { topic: string; variant?: string } {
  const words = file.replace(/\.json$/, "").split(".");
  for (let n = words.length; n > 0; n--) {
    const candidate = words.slice(0, n).join(".");
    if (knownTopics.some((known) => topicMatches(known, candidate))) {
      return n < words.length ? { topic: candidate, variant: words.slice(n).join(".") } : { topic: candidate };
    }
  }
  if (words.length > 1 && words[words.length - 1] === "template") {
    return { topic: words.slice(0, -1).join("."), variant: "template" };
  }
  return { topic: words.join(".") };
}
