// checkComposeRepo on real OSTree repositories, and the image-builder service (on the in-memory
// bus, with the real image engine) given a compose.complete whose commit is absent from a healthy
// repository (dead-lettered at once), one outside imageBuilder.repoRoots (the same), and one whose
// repository is missing (an infrastructure error: retried, then reported).
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { DEAD_LETTER_HEADERS, MemoryBroker, type BusMessage } from "@atomic-ci/bus";
import type { ComposeComplete } from "@atomic-ci/messages";
import { runService, type ServiceHandle } from "@atomic-ci/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageBuilderService, type ImageBuilderConfig } from "./index.js";
import { checkComposeRepo, type RepoVerdict } from "./repo.js";

const run = promisify(execFile);
const tools = { env: { PATH: process.env["PATH"] } };
const ABSENT = "ab".repeat(32);

let dir: string;
/** The root the repositories are allowed in. */
let root: string;
/** A healthy archive repository holding `commit` on `ref`. */
let repo: string;
let commit: string;
const ref = "fedora/41/x86_64/atomic-host";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-image-builder-repo-"));
  root = join(dir, "storage");
  repo = join(root, "repo");
  await mkdir(join(dir, "tree", "usr", "lib"), { recursive: true });
  await mkdir(root);
  await writeFile(join(dir, "tree", "usr", "lib", "os-release"), "NAME=test\n");
  await run("ostree", ["init", `--repo=${repo}`, "--mode=archive"]);
  commit = (await run("ostree", ["commit", `--repo=${repo}`, `--branch=${ref}`, "--no-xattrs", join(dir, "tree")])).stdout.trim();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = (location: string, c = commit, roots: readonly string[] = [root]): Promise<RepoVerdict> => checkComposeRepo({ location, commit: c }, { roots, tools });

describe("checkComposeRepo on real repositories", () => {
  it("ok: the commit is in the repository (by path, file:// URL, or through a parent repository)", async () => {
    expect(await check(repo)).toEqual({ kind: "ok", path: repo });
    expect(await check(pathToFileURL(repo).href)).toEqual({ kind: "ok", path: repo });
    const child = join(root, "child");
    await run("ostree", ["init", `--repo=${child}`, "--mode=archive"]);
    await run("ostree", ["config", `--repo=${child}`, "set", "core.parent", repo]);
    expect(await check(child)).toEqual({ kind: "ok", path: child });
  });

  it("poison: a commit absent from a healthy repository", async () => {
    expect(await check(repo, ABSENT)).toEqual({ kind: "poison", reason: `commit ${ABSENT} is not in the OSTree repository ${JSON.stringify(repo)} (its refs are readable)` });
  });

  it("poison: what no storage outage looks like — outside the roots, a file, not a repository, not a local path", async () => {
    const cases: Record<string, string> = {
      "/etc": "outside imageBuilder.repoRoots",
      [join(root, "..", "elsewhere")]: "outside imageBuilder.repoRoots",
      "https://example.org/repo": "not a local path",
      [`${repo}\0`]: "not a local path",
      [join(root, "x".repeat(5000))]: "ENAMETOOLONG",
      [join(repo, "config")]: "not a directory",
      [join(repo, "config", "x")]: "ENOTDIR",
    };
    await mkdir(join(root, "notes"));
    await writeFile(join(root, "notes", "readme"), "not a repository\n");
    cases[join(root, "notes")] = "not an OSTree repository (no config file)";
    await mkdir(join(root, "ini"));
    await writeFile(join(root, "ini", "config"), "[remote]\nurl=x\n");
    cases[join(root, "ini")] = "config has no [core] section";
    await symlink("/etc", join(root, "link"));
    cases[join(root, "link")] = "outside imageBuilder.repoRoots (through a symlink)";
    for (const [location, why] of Object.entries(cases)) {
      const verdict = await check(location);
      expect(verdict, location).toMatchObject({ kind: "poison" });
      expect(verdict.kind === "poison" ? verdict.reason : "", location).toContain(why);
    }
    // Without roots, only the repository itself is judged.
    expect(await check("/etc", commit, [])).toMatchObject({ kind: "poison", reason: expect.stringContaining("not an OSTree repository") as unknown });
  });

  it("unreachable: a missing or empty directory, a repository ostree cannot open", async () => {
    expect(await check(join(root, "not-mounted"))).toMatchObject({ kind: "unreachable", reason: expect.stringContaining("ENOENT") as unknown });
    await mkdir(join(root, "mount-point"));
    expect(await check(join(root, "mount-point"))).toMatchObject({ kind: "unreachable", reason: expect.stringContaining("empty directory") as unknown });
    // Half gone (its objects lost with a failing disk): ostree refs fails, so absence proves nothing.
    const broken = join(root, "broken");
    await run("ostree", ["init", `--repo=${broken}`, "--mode=archive"]);
    await rm(join(broken, "objects"), { recursive: true });
    expect(await check(broken)).toMatchObject({ kind: "unreachable", reason: expect.stringContaining("cannot be opened by ostree") as unknown });
  });
});

describe("the image-builder service with the real check", () => {
  let handle: ServiceHandle<ImageBuilderConfig>;
  let broker: MemoryBroker;
  const seen: BusMessage[] = [];

  beforeAll(async () => {
    broker = new MemoryBroker();
    handle = await runService({
      ...createImageBuilderService({ env: process.env }),
      broker,
      logDestination: new Writable({ write: (_c, _e, done) => done() }),
      processMetrics: false,
      config: {
        env: {},
        overrides: {
          http: { host: "127.0.0.1", port: 0 },
          bus: { maxDeliveries: 2 },
          imageBuilder: { formats: ["qcow2"], outDir: join(dir, "images"), workDir: join(dir, "work"), repoRoots: [root] },
        },
      },
    });
    await handle.bus.consume({ queue: "test.image-builder-repo-watch", bindings: ["#.pipeline.image.#"], handler: (m) => Promise.resolve(void seen.push(m)) });
  });

  afterAll(async () => {
    await handle.shutdown("test done");
  });

  function compose(id: string, location: string, c: string): ComposeComplete {
    return {
      change_set_id: `cs-${id.repeat(16)}`,
      compose_id: `atomic-host-41-20250102.ci.${id}`,
      version: "1.0.0",
      generated_at: "2025-01-02T03:04:05Z",
      ref,
      commit: c,
      parent: null,
      os_version: "41.20250102.0",
      input_hash: "b".repeat(64),
      repo: { location },
      lockfile: { location: join(dir, "manifest-lock.x86_64.json"), sha256: "c".repeat(64) },
      pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] },
      reused: false,
      timestamp: "2025-01-02T03:04:05Z",
    };
  }
  const deadLetters = () =>
    broker.peek("atomic-ci.image-builder.dead-letter").map((m) => ({
      id: (JSON.parse(m.body.toString("utf8")) as ComposeComplete).change_set_id,
      reason: m.properties.headers[DEAD_LETTER_HEADERS.reason],
      detail: m.properties.headers[DEAD_LETTER_HEADERS.detail],
      deliveries: m.properties.headers[DEAD_LETTER_HEADERS.deliveryCount],
    }));
  async function until<T>(get: () => T | undefined, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = get();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("dead-letters a commit absent from its healthy repository, and a repository outside the roots, on the first delivery", async () => {
    await handle.bus.publish("pipeline.compose.complete", compose("1", repo, ABSENT));
    await handle.bus.publish("pipeline.compose.complete", compose("2", "/etc", commit));
    // Handled concurrently: in either order.
    const dead = (await until(() => (deadLetters().length === 2 ? deadLetters() : undefined))).sort((a, b) => a.id.localeCompare(b.id));
    expect(dead).toEqual([
      { id: `cs-${"1".repeat(16)}`, reason: "dropped", detail: expect.stringContaining(`commit ${ABSENT} is not in the OSTree repository`) as unknown, deliveries: 1 },
      { id: `cs-${"2".repeat(16)}`, reason: "dropped", detail: expect.stringContaining("outside imageBuilder.repoRoots") as unknown, deliveries: 1 },
    ]);
    // Refused before the build: not even queued.
    expect(seen.filter((m) => [`cs-${"1".repeat(16)}`, `cs-${"2".repeat(16)}`].includes((m.body as ComposeComplete).change_set_id))).toEqual([]);
  });

  it("retries a missing repository as an infrastructure error, then reports it at step sysroot (no dead letter)", async () => {
    const id = `cs-${"3".repeat(16)}`;
    await handle.bus.publish("pipeline.compose.complete", compose("3", join(root, "unmounted", "repo"), commit));
    const error = await until(() => seen.find((m) => m.topic.endsWith("pipeline.image.error") && (m.body as ComposeComplete).change_set_id === id));
    expect(error.body).toMatchObject({ kind: "infrastructure-error", step: "sysroot", commit, reason: expect.stringContaining("storage not mounted?") as unknown });
    expect(deadLetters().map((d) => d.id)).not.toContain(id);
  });
});
