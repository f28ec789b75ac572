// The treefile's `repos` are ids of sections in `.repo` files beside the treefile (as
// rpm-ostree reads them). Only `baseurl` matters here: dnf gets each repo via --repofrompath,
// never the host's /etc/yum.repos.d.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DefinitionError } from "@atomic-ci/host-definition";
import type { DnfRepo } from "./tools/dnf.js";

/** Sections of an ini-style `.repo` text → id → keys. */
export function parseRepoFile(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section?.[1] !== undefined) {
      current = new Map();
      sections.set(section[1].trim(), current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq > 0 && current) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return sections;
}

/** Find every requested repo id in the `.repo` files of `dir`; a missing one or one without baseurl is a DefinitionError. */
export async function loadRepos(dir: string, ids: readonly string[]): Promise<DnfRepo[]> {
  const found = new Map<string, { url: string | undefined; file: string }>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".repo")).sort()) {
    for (const [id, keys] of parseRepoFile(await readFile(join(dir, file), "utf8"))) {
      // baseurl may list several mirrors; the first is used.
      found.set(id, { url: keys.get("baseurl")?.split(/[\s,]+/)[0], file });
    }
  }
  const issues = [];
  const repos: DnfRepo[] = [];
  for (const id of ids) {
    const repo = found.get(id);
    if (!repo) issues.push({ file: "(treefile)", key: "repos", message: `no .repo file beside the treefile defines ${JSON.stringify(id)}` });
    else if (!repo.url) issues.push({ file: repo.file, key: id, message: "has no baseurl" });
    else repos.push({ id, url: repo.url });
  }
  if (issues.length > 0) throw new DefinitionError(issues);
  return repos;
}
