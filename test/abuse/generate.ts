// The abuse suite's generator: hostile variants of every consumer's real input topics, from a
// seed, so a failing case can be replayed exactly (`ABUSE_SEED`). Each case starts from a real
// body (the Fedora fixtures, or a body shaped like what our services publish) and applies one
// or two mutations: wrong types, missing and extra fields, huge strings, odd unicode, shell and
// path injection in names, NVRs, refs and paths, non-JSON bodies, wrong content type or
// encoding, and forged user_id on the gatekeeper's decisions.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadFedoraFixtures } from "@atomic-ci/messages";
import type { WireProperties } from "@atomic-ci/bus";

/** Where the shared Fedora message fixtures are. */
/** `<repo root>/../shared/fixtures/fedora-messages/`, or below `$ATOMIC_CI_SHARED_DIR` when set (as the other suites find it). */
export const FIXTURES_DIR = process.env["ATOMIC_CI_SHARED_DIR"]
  ? join(process.env["ATOMIC_CI_SHARED_DIR"], "fixtures", "fedora-messages")
  : fileURLToPath(new URL("../../../shared/fixtures/fedora-messages/", import.meta.url));

/**
 * Every injected path and command names this marker: after the run, a file whose name holds
 * it anywhere outside the suite's temp root means something wrote where it must not.
 */
export const MARKER = "ACIABUSE";

export interface Seed {
  /** Routing key without prefix. */
  topic: string;
  /** Prefix it is published under. */
  prefix: string;
  body: Record<string, unknown>;
}

export interface AbuseCase {
  /** The message_id (unique per case). */
  id: string;
  /** Full routing key. */
  routingKey: string;
  /** The seed topic (without prefix). */
  topic: string;
  /** What was done to it, e.g. `wrong-type:members.0.nvr`. */
  mutations: string[];
  body: Buffer;
  properties: WireProperties;
}

export interface GenerateOptions {
  seed: number;
  count: number;
  /** Extra seeds (e.g. builds of the fixture world's host packages, which get past the trigger-listener's filters). */
  extraSeeds?: readonly Seed[];
  /** The gatekeeper account the publisher trusts (forged user_id cases use other names). */
  gatekeeperUser?: string;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
}

const REV = "0123456789abcdef0123456789abcdef01234567";
const SHA = "a".repeat(64);
const NOW = "2026-01-02T03:04:05Z";
const CS = "cs-0123456789abcdef";
const OUR_PREFIX = "org.atomic-ci.dev";

/** Bodies shaped like what our services publish, one per pipeline topic a consumer binds. */
export function pipelineSeeds(): Seed[] {
  const build = { kind: "build", package: "podman", nvr: "podman-5.3.0-1.fc41", build_id: 42, source_message_id: "m-1", source_topic: "org.fedoraproject.prod.buildsys.build.state.change" };
  const compose = {
    change_set_id: CS,
    compose_id: "atomic-host-41-20260102.ci.0",
    version: "1.0.0",
    generated_at: NOW,
    ref: "fedora/41/x86_64/atomic-host",
    commit: SHA,
    parent: null,
    os_version: "41.20260102.0",
    input_hash: "b".repeat(64),
    repo: { location: "repo/archive" },
    lockfile: { location: "composes/x/manifest-lock.x86_64.json", sha256: "c".repeat(64) },
    pkgdiff: { added: [], removed: [], upgraded: [{ from: "bash-5.2-1.fc41.x86_64", to: "bash-5.2-2.fc41.x86_64" }], downgraded: [] },
    reused: false,
    timestamp: NOW,
  };
  const operator = { version: "1.0.0", generated_at: NOW, requested_by: "alice", reason: "https://tracker.example/1" };
  const s = (topic: string, body: Record<string, unknown>): Seed => ({ topic, prefix: OUR_PREFIX, body });
  return [
    s("pipeline.change-set.queued", { change_set_id: CS, version: "1.0.0", generated_at: NOW, reason: "koji-build", members: [build], definition: { repo: "fedora-atomic", branch: "f41" } }),
    s("pipeline.change-set.queued", {
      change_set_id: CS,
      version: "1.0.0",
      generated_at: NOW,
      reason: "dist-git",
      members: [{ kind: "definition-commit", repo: "fedora-atomic", branch: "f41", rev: REV, source_message_id: "m-2", source_topic: "org.fedoraproject.prod.git.receive" }],
      definition: { repo: "fedora-atomic", branch: "f41" },
    }),
    s("pipeline.compose.complete", compose),
    s("pipeline.compose.error", { ...compose, kind: "compose-failure", reason: "nothing provides libfoo.so.2", missing_dependency: "libfoo.so.2" }),
    s("pipeline.image.complete", {
      change_set_id: CS,
      compose_id: compose.compose_id,
      version: "1.0.0",
      generated_at: NOW,
      ref: compose.ref,
      commit: SHA,
      os_version: compose.os_version,
      images: { qcow2: { location: "images/x/host.qcow2", sha256: "d".repeat(64), size: 1024 } },
      meta: { location: "images/x/meta.json" },
      reused: [],
    }),
    s("pipeline.operator.request", { ...operator, action: "compose", packages: ["podman"] }),
    s("pipeline.operator.request", { ...operator, action: "rerun", change_set_id: CS }),
    s("pipeline.operator.request", { ...operator, action: "hold", stream: "stable" }),
    s("pipeline.operator.request", { ...operator, action: "rollback", stream: "stable", to: "41.20260101.0" }),
    s("pipeline.operator.request", { ...operator, action: "rerun-test", compose: SHA, testcase: "atomic-ci.podman.tests.functional" }),
    s("waiverdb.waiver.new", {
      id: 3127,
      subject_type: "koji_build",
      subject_identifier: "podman-5.3.0-1.fc41",
      subject: { type: "koji_build", item: "podman-5.3.0-1.fc41" },
      testcase: "fedora-ci.koji-build.tier0.functional",
      product_version: "fedora-41",
      waived: true,
      comment: "known flake",
      username: "walters",
      proxied_by: "bodhi@service",
      scenario: null,
      timestamp: "2026-01-02T03:04:05.812346",
    }),
    s("greenwave.decision.update", {
      subject_type: "compose",
      subject_identifier: SHA,
      product_version: "fedora-41",
      decision_context: "atomic_ci_compose_gate",
      applicable_policies: ["atomic-host-compose-gate"],
      policies_satisfied: true,
      summary: "All required tests (3 total) have passed or been waived",
      satisfied_requirements: [],
      unsatisfied_requirements: [],
      previous: null,
    }),
  ];
}

/** The Fedora fixtures (not the empty CI templates), as seeds under their own prefix. */
export function fixtureSeeds(dir: string = FIXTURES_DIR): Seed[] {
  return loadFedoraFixtures(dir)
    .filter((f) => f.variant !== "template")
    .map((f) => {
      const match = /^(org\.fedoraproject\.[a-z]+)\.(.+)$/.exec(f.topic);
      return match ? { prefix: match[1] as string, topic: match[2] as string, body: f.body } : { prefix: "org.fedoraproject.prod", topic: f.topic, body: f.body };
    });
}

// ---- hostile values ---------------------------------------------------------------------

const MIB = 1024 * 1024;

function shellPayloads(tag: string): string[] {
  const file = `/tmp/${MARKER}-${tag}`;
  return [`; touch ${file}`, `$(touch ${file})`, `\`touch ${file}\``, `| touch ${file}`, `&& touch ${file} #`, `\ntouch ${file}\n`, "; rm -rf /", "$(reboot)", "${IFS}cat${IFS}/etc/shadow", `-o/tmp/${MARKER}-opt`, `--output=/tmp/${MARKER}-opt2`];
}

function pathPayloads(tag: string): string[] {
  return ["../../etc/passwd", "../../../../../../tmp/" + MARKER + "-" + tag, "/etc", "/etc/passwd", "/", "/tmp/" + MARKER + "-" + tag, "..", ".", "a/../../..", "file:///etc/passwd", "\\..\\..\\windows", "%2e%2e%2fetc%2fpasswd", "repo/../../../../tmp/" + MARKER, "/proc/self/environ", "~root/.ssh"];
}

function nvrPayloads(tag: string): string[] {
  return [`foo-1-1;ls`, `foo-1-1$(touch /tmp/${MARKER}-${tag})`, "../../x-1-1", "-rf-1-1", "--help", "podman-5.3.0-1.fc41 ; id", "podman-5.3.0-1.fc41\u0000.x", "podman-5.3.0-\u202e1.fc41", "x", "-", "a-b-c-d-e-f-g-h-i-j-k", "podman-../../-1", "podman-5.3.0-1.fc41/../../../etc"];
}

function refPayloads(): string[] {
  return ["../x", "refs/heads/../../x", "-x", "--upload-pack=touch /tmp/" + MARKER, "HEAD~1", "main..evil", "f41\u0000", "f41;ls", "@{-1}", "refs/heads/f41.lock"];
}

function commitPayloads(): string[] {
  return ["a".repeat(63) + "g", "A".repeat(64), "a".repeat(65), "a".repeat(40), REV.slice(0, 39) + ";", SHA.slice(0, 62) + "\u0000a", "0".repeat(64) + "\n", "--all", "HEAD"];
}

const ODD_UNICODE = [
  "\u0000",
  "a\u0000b",
  "\u202eevil\u202c",
  "\u200b\u200c\u200d\ufeff",
  "\ud800",
  "\udfff\ud800",
  "😀🧨💣",
  "e\u0301\u0301\u0301\u0301",
  "\u0085\u2028\u2029",
  "ｆｕｌｌｗｉｄｔｈ",
  "\u001b[31mred\u001b[0m",
  "%s%n%x",
  "\r\nX-Injected: 1",
];

/** A value of another JSON type than `value`. */
function otherType(rng: Rng, value: unknown): unknown {
  const options: unknown[] = [42, -1, 1e308, 0.5, true, false, null, [], {}, "", "str", [1, "2", null], { nested: { a: 1 } }, Number.MAX_SAFE_INTEGER + 2];
  for (;;) {
    const candidate = rng.pick(options);
    if (typeof candidate !== typeof value || Array.isArray(candidate) !== Array.isArray(value) || (candidate === null) !== (value === null)) return candidate;
  }
}

// ---- paths within a body ----------------------------------------------------------------

type Path = (string | number)[];

function leafPaths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push(prefix);
    value.slice(0, 3).forEach((v, i) => leafPaths(v, [...prefix, i], out));
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) out.push(prefix);
    for (const [k, v] of entries) leafPaths(v, [...prefix, k], out);
  } else out.push(prefix);
  return out;
}

/** Paths of strings whose key suggests a kind of value: names, NVRs, refs, commits, paths. */
function pathsWhere(body: unknown, test: (key: string) => boolean): Path[] {
  return leafPaths(body).filter((p) => {
    const last = p[p.length - 1];
    return typeof last === "string" && test(last);
  });
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown): void {
  if (path.length === 0) return;
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  (node as Record<string | number, unknown>)[path[path.length - 1] as string | number] = value;
}

function deleteAt(root: Record<string, unknown>, path: Path): void {
  if (path.length === 0) return;
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  if (Array.isArray(node)) node.splice(path[path.length - 1] as number, 1);
  else Reflect.deleteProperty(node as object, path[path.length - 1] as string);
}

const label = (path: Path) => path.join(".") || "(root)";

// ---- mutations --------------------------------------------------------------------------

/** A mutation either edits the body (returns a label) or replaces the wire form. */
interface Draft {
  body: Record<string, unknown>;
  raw?: Buffer;
  properties: WireProperties;
  mutations: string[];
}

type Mutation = (rng: Rng, draft: Draft, ctx: { tag: string; topic: string; gatekeeperUser: string }) => void;

const isNameKey = (k: string) => /name|package|repo|nvr|build|owner|user|by|stream|testcase|item|identifier|tag|branch|project|alias/i.test(k);
const isPathKey = (k: string) => /location|path|url|dir|file|meta/i.test(k);
const isRefKey = (k: string) => /ref|branch|rev|to$/i.test(k);
const isCommitKey = (k: string) => /commit|rev|sha|hash|identifier|parent|compose/i.test(k);

function replaceIn(keyTest: (k: string) => boolean, values: (tag: string) => string[], kind: string): Mutation {
  return (rng, d, ctx) => {
    const paths = pathsWhere(d.body, keyTest);
    const path = paths.length > 0 ? rng.pick(paths) : rng.pick(leafPaths(d.body));
    const value = rng.pick(values(ctx.tag));
    setAt(d.body, path, value);
    d.mutations.push(`${kind}:${label(path)}`);
  };
}

const MUTATIONS: Record<string, Mutation> = {
  "wrong-type": (rng, d) => {
    const path = rng.pick(leafPaths(d.body));
    let node: unknown = d.body;
    for (const k of path) node = (node as Record<string | number, unknown>)[k];
    setAt(d.body, path, otherType(rng, node));
    d.mutations.push(`wrong-type:${label(path)}`);
  },
  "missing-field": (rng, d) => {
    const paths = leafPaths(d.body).filter((p) => p.length > 0);
    if (paths.length === 0) {
      // Nothing left to drop (a first mutation emptied the body): the body without any field.
      d.body = {};
      d.mutations.push("missing-field:(all)");
      return;
    }
    const path = rng.pick(paths);
    // Drop the top-level key half of the time: required fields are mostly at the top.
    const cut = rng.next() < 0.5 ? path.slice(0, 1) : path;
    deleteAt(d.body, cut);
    d.mutations.push(`missing-field:${label(cut)}`);
  },
  "extra-field": (rng, d) => {
    const key = rng.pick(["__proto__", "constructor", "prototype", "x".repeat(10_000), "$where", "..", "toString", "hasOwnProperty"]);
    const value = rng.pick<unknown>([{ polluted: MARKER }, "y", 1, [MARKER], { toString: 1 }]);
    // JSON text, so `__proto__` arrives as an own key the way a hostile sender would send it.
    const text = JSON.stringify(d.body);
    d.raw = Buffer.from(`{${JSON.stringify(key)}:${JSON.stringify(value)},${text.slice(1)}`, "utf8");
    d.mutations.push(`extra-field:${key.slice(0, 20)}`);
  },
  "huge-string": (rng, d) => {
    const path = rng.pick(leafPaths(d.body));
    const size = rng.pick([MIB + 17, 900 * 1024, 200 * 1024, 64 * 1024]);
    setAt(d.body, path, rng.pick(["A", "é", "😀", "/"]).repeat(Math.ceil(size / 2)));
    d.mutations.push(`huge-string:${label(path)}:${size}`);
  },
  "odd-unicode": (rng, d) => {
    const paths = pathsWhere(d.body, (k) => isNameKey(k) || isPathKey(k) || isRefKey(k));
    const path = paths.length > 0 ? rng.pick(paths) : rng.pick(leafPaths(d.body));
    let node: unknown = d.body;
    for (const k of path) node = (node as Record<string | number, unknown>)[k];
    const odd = rng.pick(ODD_UNICODE);
    setAt(d.body, path, typeof node === "string" && rng.next() < 0.5 ? `${node}${odd}` : odd);
    d.mutations.push(`odd-unicode:${label(path)}`);
  },
  "overlong-utf8": (rng, d) => {
    // 0xC0 0xAF is an overlong "/": invalid UTF-8 that naive decoders turn into a path separator.
    const text = Buffer.from(JSON.stringify(d.body), "utf8");
    const bad = rng.pick([Buffer.from([0xc0, 0xaf]), Buffer.from([0xe0, 0x80, 0xaf]), Buffer.from([0xff, 0xfe]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])]);
    const at = text.indexOf(0x22, 2) + 1 || 1;
    d.raw = Buffer.concat([text.subarray(0, at), bad, text.subarray(at)]);
    d.mutations.push("overlong-utf8");
  },
  "shell-injection": replaceIn((k) => isNameKey(k) || isRefKey(k), shellPayloads, "shell-injection"),
  "path-injection": replaceIn(isPathKey, pathPayloads, "path-injection"),
  "nvr-injection": replaceIn((k) => /nvr|name|package|version|release|item|identifier|builds/i.test(k), nvrPayloads, "nvr-injection"),
  "ref-injection": replaceIn(isRefKey, refPayloads, "ref-injection"),
  "commit-injection": replaceIn(isCommitKey, commitPayloads, "commit-injection"),
  "outside-root": (rng, d, ctx) => {
    // compose/image paths pointing outside the services' roots.
    const paths = pathsWhere(d.body, (k) => k === "location" || k === "ostreeRepo" || k === "path");
    const path = paths.length > 0 ? rng.pick(paths) : ["repo", "location"];
    if (paths.length === 0) d.body["repo"] = { location: "" };
    setAt(d.body, path, rng.pick(["/etc", "/", "/tmp", `/tmp/${MARKER}-${ctx.tag}`, "../../../../etc", "/root/.ssh", "/proc/1/root"]));
    d.mutations.push(`outside-root:${label(path)}`);
  },
  "huge-array": (rng, d) => {
    const arrays = leafPaths(d.body).map((p) => p.slice(0, -1)).filter((p) => {
      let node: unknown = d.body;
      for (const k of p) node = (node as Record<string | number, unknown>)[k];
      return Array.isArray(node);
    });
    // A second huge array never goes inside the first: its elements are one shared value, so a
    // huge array in it would be repeated by every element (10^10 values, out of memory).
    const second = d.mutations.some((m) => m.startsWith("huge-array:"));
    const path = second ? [`extra_huge_${MARKER}`] : arrays.length > 0 ? rng.pick(arrays) : [`extra_${MARKER}`];
    let node: unknown = d.body;
    for (const k of path) node = node === undefined ? undefined : (node as Record<string | number, unknown>)[k];
    const first: unknown = Array.isArray(node) && node.length > 0 ? (node as unknown[])[0] : "x";
    // Elements are one small primitive: a shared object would carry whatever a second mutation
    // puts into it (a huge string, another huge array) into every element, and a huge string
    // repeated 200,000 times is ~200 GB of JSON (seed 16 ran out of memory on both).
    const element = first !== null && typeof first === "object" ? JSON.stringify(first).slice(0, 64) : typeof first === "string" ? first.slice(0, 64) : first;
    const n = rng.pick([1_000, 20_000, 200_000]);
    setAt(d.body, path, Array.from({ length: n }, () => element));
    d.mutations.push(`huge-array:${label(path)}:${n}`);
  },
  "deep-nesting": (rng, d) => {
    const depth = rng.pick([1_000, 10_000, 100_000]);
    const open = rng.next() < 0.5 ? "[" : '{"a":';
    const close = open === "[" ? "]" : "}";
    const text = JSON.stringify(d.body);
    d.raw = Buffer.from(`{"nested_${MARKER}":${open.repeat(depth)}1${close.repeat(depth)},${text.slice(1)}`, "utf8");
    d.mutations.push(`deep-nesting:${depth}`);
  },
  "not-json": (rng, d) => {
    const raw = rng.pick(["", "not json", "null", "[]", "42", '"string"', "{", '{"a":1,}', "{'a': 1}", "NaN", JSON.stringify(d.body).slice(0, 30), "\u0000\u0000", "<xml/>", "true"]);
    d.raw = Buffer.from(raw, "utf8");
    d.mutations.push(`not-json:${JSON.stringify(raw.slice(0, 12))}`);
  },
  "content-type": (rng, d) => {
    d.properties.contentType = rng.pick(["text/plain", "application/xml", "application/octet-stream", "application/json-patch+json", "", "application/json\u0000", "image/png"]);
    d.mutations.push(`content-type:${JSON.stringify(d.properties.contentType)}`);
  },
  "content-encoding": (rng, d) => {
    const encoding = rng.pick(["gzip", "latin-1", "utf-16", "base64", "deflate"]);
    d.properties.contentEncoding = encoding;
    if (encoding === "latin-1") d.raw = Buffer.from(JSON.stringify(d.body).replace(/"$/, "é\""), "latin1");
    d.mutations.push(`content-encoding:${encoding}`);
  },
  "wrong-schema-header": (rng, d) => {
    d.properties.headers["fedora_messaging_schema"] = rng.pick([
      "atomic_ci.pipeline.ChangeSetQueuedV1",
      "atomic_ci.pipeline.OperatorRequestV1",
      "koji_fedoramessaging.build.BuildStateChangeV1",
      "base.message",
      "../../etc/passwd",
      "no.such.Schema",
    ]);
    d.mutations.push(`wrong-schema-header:${JSON.stringify(d.properties.headers["fedora_messaging_schema"])}`);
  },
  "forged-user-id": (rng, d, ctx) => {
    // On the in-memory bus nothing checks user_id, so the exact gatekeeper name cannot be told
    // apart there; RabbitMQ refuses it (the AMQP pass). Here: every near miss.
    d.properties.userId = rng.pick(["mallory", "", `${ctx.gatekeeperUser} `, ` ${ctx.gatekeeperUser}`, ctx.gatekeeperUser.toUpperCase(), `${ctx.gatekeeperUser}\u0000`, "atomic-ci-publisher", "guest", "root", `${ctx.gatekeeperUser}\u200b`]);
    d.mutations.push(`forged-user-id:${JSON.stringify(d.properties.userId)}`);
  },
};

/** Mutation names and how often each is drawn (forged user_id only on decisions). */
const WEIGHTS: [string, number][] = [
  ["wrong-type", 12],
  ["missing-field", 8],
  ["extra-field", 4],
  ["huge-string", 4],
  ["odd-unicode", 8],
  ["overlong-utf8", 3],
  ["shell-injection", 10],
  ["path-injection", 8],
  ["nvr-injection", 8],
  ["ref-injection", 6],
  ["commit-injection", 6],
  ["outside-root", 4],
  ["huge-array", 2],
  ["deep-nesting", 2],
  ["not-json", 4],
  ["content-type", 3],
  ["content-encoding", 2],
  ["wrong-schema-header", 3],
];

function pickMutation(rng: Rng): string {
  const total = WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let r = rng.next() * total;
  for (const [name, w] of WEIGHTS) {
    r -= w;
    if (r < 0) return name;
  }
  return "wrong-type";
}

/** The seeds the generator mutates: the Fedora fixtures, our pipeline topics, and any extra. */
export function allSeeds(extra: readonly Seed[] = []): Seed[] {
  return [...fixtureSeeds(), ...pipelineSeeds(), ...extra];
}

/** `count` hostile cases from `seed`; the same seed gives the same cases (ids aside, which are fresh per run). */
export function generateAbuse(options: GenerateOptions): AbuseCase[] {
  const rng = new Rng(options.seed);
  const seeds = allSeeds(options.extraSeeds);
  const gatekeeperUser = options.gatekeeperUser ?? "atomic-ci-gatekeeper";
  const cases: AbuseCase[] = [];
  for (let i = 0; i < options.count; i++) {
    // Round-robin over seeds first, so every topic (and so every consumer) gets its share.
    const seed = seeds[i % seeds.length] as Seed;
    const draft: Draft = {
      body: structuredClone(seed.body),
      properties: { contentType: "application/json", contentEncoding: "utf-8", deliveryMode: 2, messageId: `abuse-${options.seed}-${i}-${randomUUID()}`, headers: { "sent-at": NOW } },
      mutations: [],
    };
    const tag = `${options.seed}-${i}`;
    const ctx = { tag, topic: seed.topic, gatekeeperUser };
    const decision = seed.topic === "greenwave.decision.update";
    const first = decision && rng.next() < 0.5 ? "forged-user-id" : pickMutation(rng);
    (MUTATIONS[first] as Mutation)(rng, draft, ctx);
    // A second mutation now and then, unless the first already replaced the bytes.
    if (draft.raw === undefined && rng.next() < 0.25) (MUTATIONS[pickMutation(rng)] as Mutation)(rng, draft, ctx);
    cases.push({
      id: draft.properties.messageId as string,
      routingKey: `${seed.prefix}.${seed.topic}`,
      topic: seed.topic,
      mutations: draft.mutations,
      body: draft.raw ?? Buffer.from(JSON.stringify(draft.body), "utf8"),
      properties: draft.properties,
    });
  }
  return cases;
}
