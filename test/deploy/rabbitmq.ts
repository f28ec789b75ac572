// deploy/rabbitmq/definitions.json for the tests: rendered for a vhost of their own, with
// passwords (production logs in with client certificates and has none), imported with
// `rabbitmqctl import_definitions` and removed again.
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const DEFINITIONS_PATH = new URL("../../deploy/rabbitmq/definitions.json", import.meta.url);
/** The vhost definitions.json is written for. */
export const DEFINITIONS_VHOST = "atomic-ci";

export interface Permission {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}
export interface TopicPermission {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}
export interface Policy {
  vhost: string;
  name: string;
  pattern: string;
  "apply-to": string;
  priority: number;
  definition: Record<string, unknown>;
}
export interface User {
  name: string;
  password_hash: string;
  hashing_algorithm: string;
  tags: string[];
}
export interface Definitions {
  users: User[];
  vhosts: { name: string }[];
  permissions: Permission[];
  topic_permissions: TopicPermission[];
  policies: Policy[];
  [key: string]: unknown;
}

export function readDefinitions(): Definitions {
  return JSON.parse(readFileSync(DEFINITIONS_PATH, "utf8")) as Definitions;
}

/** RabbitMQ's rabbit_password_hashing_sha256: base64(salt ‖ sha256(salt ‖ password)), 4-byte salt. */
export function passwordHash(password: string): string {
  const salt = randomBytes(4);
  return Buffer.concat([salt, createHash("sha256").update(salt).update(password, "utf8").digest()]).toString("base64");
}

/**
 * The definitions for another vhost, every user with a password, plus `extraUsers` with full
 * rights on that vhost only (a test's watcher).
 */
export function renderDefinitions(defs: Definitions, vhost: string, passwords: Record<string, string>, extraUsers: readonly string[] = []): Definitions {
  const at = <T extends { vhost: string }>(items: T[]): T[] => items.map((item) => ({ ...item, vhost }));
  return {
    ...defs,
    users: [
      ...defs.users.map((u) => ({ ...u, password_hash: passwordHash(passwords[u.name] ?? "") })),
      ...extraUsers.map((name) => ({ name, password_hash: passwordHash(passwords[name] ?? ""), hashing_algorithm: "rabbit_password_hashing_sha256", tags: [] })),
    ],
    vhosts: [{ name: vhost }],
    permissions: [...at(defs.permissions), ...extraUsers.map((user) => ({ user, vhost, configure: ".*", write: ".*", read: ".*" }))],
    topic_permissions: at(defs.topic_permissions),
    policies: at(defs.policies),
  };
}

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run("rabbitmqctl", ["--quiet", ...args], { timeout: 60_000 });
  return stdout;
}

/**
 * Import and wait until done: `import_definitions` only starts the import. Done = every user
 * has its permissions and every policy is there.
 */
export async function importDefinitions(defs: Definitions): Promise<void> {
  // The Debian wrapper runs the CLI as the rabbitmq user, which must read the file: a
  // directory it may traverse but not list, the file only for as long as the import takes
  // (rabbitmqctl 3.10 does not read `-` from stdin, whatever its usage says).
  const dir = await mkdtemp(join(tmpdir(), "atomic-ci-definitions-"));
  try {
    await chmod(dir, 0o711);
    const file = join(dir, `${randomBytes(8).toString("hex")}.json`);
    await writeFile(file, JSON.stringify(defs), { mode: 0o644 });
    await rabbitmqctl("import_definitions", file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const vhost = defs.vhosts[0]?.name ?? "";
  const deadline = Date.now() + 30_000;
  for (;;) {
    const perms = await rabbitmqctl("list_permissions", "-p", vhost).catch(() => "");
    const policies = await rabbitmqctl("list_policies", "-p", vhost).catch(() => "");
    if (defs.permissions.every((p) => perms.includes(p.user)) && defs.policies.every((p) => policies.includes(p.name))) return;
    if (Date.now() > deadline) throw new Error(`definitions for vhost ${vhost} not imported after 30 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Delete the vhost (its queues go with it) and the users. */
export async function removeDefinitions(defs: Definitions): Promise<void> {
  for (const vhost of defs.vhosts) await rabbitmqctl("delete_vhost", vhost.name).catch(() => undefined);
  for (const user of defs.users) await rabbitmqctl("delete_user", user.name).catch(() => undefined);
}

/** `name policy` of every queue of a vhost. */
export async function queuePolicies(vhost: string): Promise<Record<string, string>> {
  const out = await rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", "name", "policy");
  return Object.fromEntries(
    out
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols.length === 2 && cols[0])
      .map(([name, policy]) => [name as string, policy as string]),
  );
}

/** A random password per user. */
export function passwordsFor(users: readonly string[]): Record<string, string> {
  return Object.fromEntries(users.map((u) => [u, randomBytes(12).toString("hex")]));
}

/** amqp:// URL of the local broker for a user on a vhost. */
export function amqpUrlFor(base: string, vhost: string, user: string, password: string): string {
  const url = new URL(base);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}
