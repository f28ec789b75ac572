// The Standard Test Interface subset: `tests/tests*.yml` playbooks using the
// `standard-test-basic` role. No Ansible runs: the playbook is read as data, and anything
// outside the documented subset (docs/tests.md) is a DiscoveryError naming the file and key.
import { posix } from "node:path";
import { DEFAULT_TIMEOUT_MS, DiscoveryError, type TestCase, type TestSource } from "../model.js";
import { isMapping, list, mapping, onlyKeys, parseYaml, strings, text, type Mapping } from "./yaml.js";

const PLAY_KEYS = ["hosts", "name", "tags", "roles"];
const ROLE_KEYS = ["role", "tags", "tests", "required_packages"];
const TEST_KEYS = ["dir", "run"];
/** 2017's rule: only tests tagged `atomic` run against an Atomic Host. */
export const HOST_TAG = "atomic";
/** A tag declaring allowed re-runs of a flaky test: `atomic-ci-reruns-2`. */
const RERUNS_TAG = /^atomic-ci-reruns-(\d+)$/;

export interface StiDiscovery {
  tests: TestCase[];
  /** Test names declared only for other subjects (classic, container): not run on the host. */
  skipped: string[];
}

export function isStiFile(path: string): boolean {
  return /^tests\/tests[^/]*\.yml$/.test(path);
}

export function parseSti(content: string, opts: { file: string; package: string; source: TestSource; commit: string }): StiDiscovery {
  const { file } = opts;
  const doc = parseYaml(content, file);
  const plays = doc === null ? [] : list(doc, file, "(document)");
  const result: StiDiscovery = { tests: [], skipped: [] };
  // The playbook's directory: `dir` values are relative to it (STI copies tests/ to the subject).
  const base = posix.dirname(file);
  plays.forEach((rawPlay, p) => {
    const at = `[${p}]`;
    const play = mapping(rawPlay, file, at);
    onlyKeys(play, PLAY_KEYS, file, at);
    if (play["hosts"] !== "localhost") throw new DiscoveryError(file, `${at}.hosts`, "must be localhost");
    const playTags = strings(play["tags"], file, `${at}.tags`);
    list(play["roles"] ?? [], file, `${at}.roles`).forEach((rawRole, r) => {
      const where = `${at}.roles[${r}]`;
      const role = mapping(rawRole, file, where);
      onlyKeys(role, ROLE_KEYS, file, where);
      if (role["role"] !== "standard-test-basic") {
        throw new DiscoveryError(file, `${where}.role`, `role ${JSON.stringify(role["role"])} is not supported (only standard-test-basic)`);
      }
      const tags = [...playTags, ...strings(role["tags"], file, `${where}.tags`)];
      const requires = strings(role["required_packages"], file, `${where}.required_packages`);
      const reruns = tags.map((t) => RERUNS_TAG.exec(t)).find((m) => m !== null);
      for (const [name, entry] of roleTests(role, file, where)) {
        if (!tags.includes(HOST_TAG)) {
          result.skipped.push(name);
          continue;
        }
        const dir = posix.normalize(posix.join(base, entry.dir));
        if (dir.startsWith("..") || posix.isAbsolute(entry.dir)) throw new DiscoveryError(file, `${where}.tests.${name}.dir`, "must stay inside the repository");
        result.tests.push({
          id: `${opts.package}/${opts.source}/${file}/${name}`,
          package: opts.package,
          source: opts.source,
          name,
          dir,
          command: ["/usr/bin/sh", "-c", entry.run],
          requires,
          timeoutMs: DEFAULT_TIMEOUT_MS,
          allowedReruns: reruns ? Number(reruns[1]) : 0,
          environment: {},
          commit: opts.commit,
          file,
          tags,
        });
      }
    });
  });
  return result;
}

/** `tests:` items: `NAME` (dir NAME, run ./runtest.sh) or a one-key mapping `NAME: {dir, run}`. */
function roleTests(role: Mapping, file: string, where: string): [string, { dir: string; run: string }][] {
  return list(role["tests"] ?? [], file, `${where}.tests`).map((item, i) => {
    const key = `${where}.tests[${i}]`;
    if (typeof item === "string" && item !== "") return [item, { dir: item, run: "./runtest.sh" }];
    if (!isMapping(item) || Object.keys(item).length !== 1) throw new DiscoveryError(file, key, "must be a test name or a mapping {NAME: {dir, run}}");
    const [name = "", body] = Object.entries(item)[0] ?? [];
    const spec = mapping(body, file, `${key}.${name}`);
    onlyKeys(spec, TEST_KEYS, file, `${key}.${name}`);
    return [name, { dir: spec["dir"] === undefined ? "." : text(spec["dir"], file, `${key}.${name}.dir`), run: text(spec["run"], file, `${key}.${name}.run`) }];
  });
}
