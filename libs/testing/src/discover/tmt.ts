// The tmt subset on top of the fmf tree: leaves with `execute` are plans, leaves with `test`
// are tests. A plan must discover with `how: fmf` (the repository's own tree, no filters) and
// execute with `how: tmt`; without any plan, tmt's default plan (all tests) applies.
import { DEFAULT_TIMEOUT_MS, DiscoveryError, type TestCase } from "../model.js";
import { parseDuration } from "./duration.js";
import { fmfLeaves, type FmfNode } from "./fmf.js";
import { isMapping, mapping, onlyKeys, strings, text } from "./yaml.js";

const PLAN_KEYS = ["summary", "description", "discover", "execute", "provision", "prepare", "report", "contact", "tag", "tier", "link", "id", "enabled"];
const TEST_KEYS = ["summary", "description", "test", "require", "recommend", "duration", "tag", "tier", "enabled", "framework", "result", "path", "environment", "contact", "component", "id", "link", "order"];
/** Custom key for allowed re-runs of a flaky test (tmt ignores `extra-*` keys). */
export const RERUNS_KEY = "extra-atomic-ci-reruns";

interface Plan {
  name: string;
  requires: string[];
}

export function parseTmt(files: ReadonlyMap<string, string>, opts: { package: string; commit: string }): TestCase[] {
  const leaves = fmfLeaves(files);
  const plans = leaves.filter((n) => n.data["execute"] !== undefined).map(parsePlan);
  const tests = leaves.filter((n) => n.data["test"] !== undefined && n.data["enabled"] !== false);
  const effective: Plan[] = plans.length > 0 ? plans : [{ name: "/default/plan", requires: [] }];
  return effective.flatMap((plan) => tests.map((node) => testCase(node, plan, opts)));
}

function parsePlan(node: FmfNode): Plan {
  const { file, data } = node;
  const at = (key: string) => `${node.name}.${key}`;
  onlyKeys(data, PLAN_KEYS, file, node.name);
  const discover = mapping(data["discover"], file, at("discover"));
  onlyKeys(discover, ["how"], file, at("discover"));
  if (discover["how"] !== "fmf") throw new DiscoveryError(file, at("discover.how"), "only `fmf` is supported");
  const execute = mapping(data["execute"], file, at("execute"));
  onlyKeys(execute, ["how"], file, at("execute"));
  if (execute["how"] !== "tmt") throw new DiscoveryError(file, at("execute.how"), "only `tmt` is supported");
  const requires: string[] = [];
  if (data["prepare"] !== undefined) {
    // Nothing is installed on the composed host: `prepare: {how: install}` only adds requirements.
    for (const step of Array.isArray(data["prepare"]) ? data["prepare"] : [data["prepare"]]) {
      const prepare = mapping(step, file, at("prepare"));
      onlyKeys(prepare, ["how", "package", "name", "summary"], file, at("prepare"));
      if (prepare["how"] !== "install") throw new DiscoveryError(file, at("prepare.how"), "only `install` is supported");
      requires.push(...strings(prepare["package"], file, at("prepare.package")));
    }
  }
  return { name: node.name, requires };
}

function testCase(node: FmfNode, plan: Plan, opts: { package: string; commit: string }): TestCase {
  const { file, data } = node;
  const at = (key: string) => `${node.name}.${key}`;
  for (const key of Object.keys(data)) {
    if (!TEST_KEYS.includes(key) && !key.startsWith("extra-")) throw new DiscoveryError(file, at(key), `not supported (supported: ${TEST_KEYS.join(", ")}, extra-*)`);
  }
  if (data["framework"] !== undefined && data["framework"] !== "shell") throw new DiscoveryError(file, at("framework"), "only `shell` is supported");
  if (data["result"] !== undefined && data["result"] !== "respect") throw new DiscoveryError(file, at("result"), "only `respect` is supported");
  const requires = [...plan.requires, ...requirements(data["require"], file, at("require"))];
  const environment: Record<string, string> = {};
  if (data["environment"] !== undefined) {
    for (const [k, v] of Object.entries(mapping(data["environment"], file, at("environment")))) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || (typeof v !== "string" && typeof v !== "number")) throw new DiscoveryError(file, at(`environment.${k}`), "must be NAME: string");
      environment[k] = String(v);
    }
  }
  const reruns = data[RERUNS_KEY];
  if (reruns !== undefined && (typeof reruns !== "number" || !Number.isInteger(reruns) || reruns < 0)) throw new DiscoveryError(file, at(RERUNS_KEY), "must be a non-negative integer");
  // `path` is relative to the fmf root (tmt writes it with a leading slash).
  const dir = data["path"] === undefined ? node.dir : text(data["path"], file, at("path")).replace(/^\/+/, "") || ".";
  if (dir.split("/").includes("..")) throw new DiscoveryError(file, at("path"), "must stay inside the repository");
  return {
    id: `${opts.package}/tmt${plan.name}${node.name}`,
    package: opts.package,
    source: "tmt",
    name: node.name,
    dir,
    command: ["/usr/bin/sh", "-c", text(data["test"], file, at("test"))],
    requires,
    timeoutMs: data["duration"] === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(data["duration"], file, at("duration")),
    allowedReruns: typeof reruns === "number" ? reruns : 0,
    environment,
    commit: opts.commit,
    file,
    tags: strings(data["tag"], file, at("tag")),
  };
}

/** `require`: package names only (tmt's library references, mappings, are not supported). */
function requirements(value: unknown, file: string, key: string): string[] {
  if (Array.isArray(value) && value.some(isMapping)) throw new DiscoveryError(file, key, "library requirements (mappings) are not supported");
  return strings(value, file, key);
}
