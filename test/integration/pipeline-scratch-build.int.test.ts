// Spec changes are built, not assumed: trigger-listener + composer on the in-memory bus over
// the fixture world, with real git, rpmbuild (in bwrap), createrepo_c, dnf and ostree. A
// dist-git commit that bumps chrony's Release is composed with chrony built at that commit; a
// pull request's head (not on the branch, same NEVRA as the stable package) wins over the
// stable RPM; a spec whose %build fails, or that reaches for the network or writes outside its
// build tree, ends as a compose failure saying build-failure; a commit that cannot be fetched
// is an infrastructure error, retried and then reported.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryBroker } from "@atomic-ci/bus";
import { createComposerService } from "@atomic-ci/composer";
import { changeSetIdOf, type ChangeSetMember } from "@atomic-ci/messages";
import { runServices, type GroupHandle, type ServiceHandle } from "@atomic-ci/runtime";
import { gitAdd, gitCommit, gitRevParse, type ToolContext } from "@atomic-ci/tools";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";
import { BUILD_MACROS, buildFixtureWorld, gitReceive, pipelinePerService, type FixtureWorld } from "../fixture-world/src/index.js";
import { pipelineTopic, watchBroker, type Seen, type Watcher } from "./watch.js";

const run = promisify(execFile);
const ctx: ToolContext = { env: { ...process.env, LC_ALL: "C" } };
const PACKAGER = { name: "Scratch Tester", email: "tester@fixture.invalid", date: new Date("2024-11-05T10:00:00Z") };

let world: FixtureWorld;
let dir: string;
/** This suite's copy of chrony's dist-git repository: the tests commit into it. */
let chrony: string;
let original: string;
let originalRev: string;
/** The pull request's head, made by the first pull request test. */
let prHead = "";
/** The first test's commit and its compose. */
let bumped = "";
let bumpedCommit = "";
let group: GroupHandle;
let listener: ServiceHandle;
let watcher: Watcher;
let server: Server;
let connections = 0;
let port = 0;

const ended = (id: unknown) => (m: Seen) => (m.topic === "pipeline.compose.complete" || m.topic === "pipeline.compose.error") && m.body["change_set_id"] === id;

async function ostree(repo: string, ...args: string[]): Promise<string> {
  const [sub = "", ...rest] = args;
  return (await run("ostree", [sub, `--repo=${repo}`, ...rest])).stdout;
}

/** Commit `spec` (edited from the original) to the copy's branch and push it through trigger-listener; resolves to the change set id. */
async function pushSpec(spec: string, subject: string): Promise<string> {
  await writeFile(join(chrony, "chrony.spec"), spec);
  await gitAdd(chrony, ctx, ["chrony.spec"]);
  const commit = await gitCommit(chrony, { ...ctx, message: `${subject}\n`, author: PACKAGER });
  // The world's messages read the repository it names: point chrony at this suite's copy.
  const here = { ...world, packages: world.packages.map((p) => (p.name === "chrony" ? { ...p, distGit: chrony } : p)) };
  const from = watcher.seen.length;
  await listener.bus.publish("git.receive", (await gitReceive(here, "chrony", commit, ctx)).body, { topicPrefix: "org.fedoraproject.prod" });
  const queued = await watcher.waitFor((m) => m.topic === "pipeline.change-set.queued" && JSON.stringify(m.body["members"]).includes(commit), 20_000, from);
  expect(queued.body["members"]).toMatchObject([{ kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev: commit, touches: ["spec"] }]);
  return queued.body["change_set_id"] as string;
}

/** A change set straight to the composer (as trigger-listener would send it for a pagure pull request). */
async function queueChangeSet(members: ChangeSetMember[]): Promise<string> {
  const id = changeSetIdOf(members);
  const body = { change_set_id: id, version: "1.0.0", generated_at: new Date().toISOString(), reason: "pull-request", members, definition: { repo: world.hostDefinition.name, branch: world.hostDefinition.branch } };
  await listener.bus.publish("pipeline.change-set.queued", body);
  return id;
}

const withBuild = (spec: string, lines: string) => spec.replace(/^%build\n/m, `%build\n${lines}\n`);

beforeAll(async () => {
  world = await buildFixtureWorld();
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-scratch-build-"));
  chrony = join(dir, "dist-git", "rpms", "chrony");
  await cp(join(world.distGit.root, "chrony"), chrony, { recursive: true });
  original = await readFile(join(chrony, "chrony.spec"), "utf8");
  originalRev = await gitRevParse(chrony, "HEAD", ctx);
  expect(original).toMatch(/^Release:\s+1%\{\?dist\}$/m);
  expect(original).toMatch(/^%build$/m);

  // A server on this machine's loopback: a build that could reach the network would reach it.
  server = createServer((socket) => {
    connections++;
    socket.end("HTTP/1.0 200 OK\r\n\r\nreached\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;

  const broker = new MemoryBroker();
  watcher = watchBroker(broker, "test.scratch-build-watch", ["#.pipeline.#"], { topicOf: pipelineTopic });
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  const scratchBuilds = { distGit: join(dir, "dist-git"), lookaside: world.lookaside.root, macros: BUILD_MACROS, timeoutMs: 120_000 };
  group = await runServices([createTriggerListenerService(), createComposerService({ env: process.env })], {
    broker,
    logDestination: quiet,
    processMetrics: false,
    // The composer section is merged key by key: only scratchBuilds changes. Two deliveries keep the retry test short.
    perService: pipelinePerService(world, dir, { composer: { composer: { scratchBuilds }, bus: { maxDeliveries: 2 } } }),
  });
  const first = group.services[0];
  if (!first) throw new Error("trigger-listener did not start");
  listener = first;
  // The host as it is, so the scratch builds' composes have a parent to diff against.
  await listener.bus.publish("pipeline.operator.request", { action: "compose", version: "1.0.0", generated_at: new Date().toISOString(), requested_by: "tester", reason: "baseline" });
  await watcher.waitFor((m) => m.topic === "pipeline.compose.complete", 180_000);
}, 300_000);

afterAll(async () => {
  await group.shutdown("test done");
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("a dist-git commit that changes a host package's spec", () => {
  it("is composed with the package built at that commit", async () => {
    const spec = original.replace(/^Release:\s+1%\{\?dist\}$/m, "Release:        2%{?dist}").replaceAll('echo "chronyd 4.6.1"', 'echo "chronyd 4.6.1 (scratch-built)"');
    const id = await pushSpec(spec, "Rebuild chrony with a scratch marker");
    const done = await watcher.waitFor(ended(id), 240_000);
    expect(done.topic, JSON.stringify(done.body)).toBe("pipeline.compose.complete");
    const rev = await gitRevParse(chrony, "HEAD", ctx);
    expect(done.body["scratch_builds"]).toEqual([{ kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", rev, nvr: "chrony-4.6.1-2.fc41", rpms: ["chrony-4.6.1-2.fc41.x86_64"] }]);
    expect((done.body["pkgdiff"] as { upgraded: unknown[] }).upgraded).toEqual([{ from: "chrony-4.6.1-1.fc41.x86_64", to: "chrony-4.6.1-2.fc41.x86_64" }]);

    const repo = (done.body["repo"] as { location: string }).location;
    const commit = done.body["commit"] as string;
    expect(await ostree(repo, "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", commit)).toContain("('chrony', '0', '4.6.1', '2.fc41', 'x86_64')");
    expect(await ostree(repo, "cat", commit, "/usr/sbin/chronyd")).toContain("chronyd 4.6.1 (scratch-built)");
    bumped = rev;
    bumpedCommit = commit;
  });

  it("with an older commit of the same package in the change set, builds the one containing the other", async () => {
    const member = (rev: string, n: number): ChangeSetMember => ({ kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", branch: "f41", rev, touches: ["spec"], source_message_id: `push-${n}`, source_topic: "org.fedoraproject.prod.git.receive" });
    const id = await queueChangeSet([member(bumped, 1), member(originalRev, 2)]);
    const done = await watcher.waitFor(ended(id), 240_000);
    expect(done.topic, JSON.stringify(done.body)).toBe("pipeline.compose.complete");
    expect(done.body["scratch_builds"]).toMatchObject([{ rev: bumped, nvr: "chrony-4.6.1-2.fc41" }]);
    // The same commit built again, byte for byte: the same tree, so the first compose's commit.
    expect(done.body).toMatchObject({ commit: bumpedCommit, reused: true });
  });
});

describe("a pull request's head", () => {
  it("is built and wins over the stable package even with the same NEVRA", async () => {
    // The head is on no branch (Pagure keeps it under refs/pull/N/head), based on the stable version: Release 1.
    const work = join(dir, "pr-work");
    await run("git", ["clone", "--quiet", chrony, work]);
    await run("git", ["-C", work, "checkout", "--quiet", "--detach", originalRev]);
    await writeFile(join(work, "chrony.spec"), original.replaceAll('echo "chronyd 4.6.1"', 'echo "chronyd 4.6.1 (pull request)"'));
    await gitAdd(work, ctx, ["chrony.spec"]);
    const head = await gitCommit(work, { ...ctx, message: "Say it is the pull request\n", author: PACKAGER });
    prHead = head;
    await run("git", ["-C", work, "push", "--quiet", "origin", "HEAD:refs/pull/1/head"]);

    const pr: ChangeSetMember = { kind: "pull-request", package: "chrony", repo: "rpms/chrony", branch: "f41", pr_url: "https://src.fixture.invalid/rpms/chrony/pull-request/1", rev: head, source_message_id: "pr-1", source_topic: "org.fedoraproject.prod.pagure.pull-request.new" };
    const id = await queueChangeSet([pr]);
    const done = await watcher.waitFor(ended(id), 240_000);
    expect(done.topic, JSON.stringify(done.body)).toBe("pipeline.compose.complete");
    expect(done.body["scratch_builds"]).toMatchObject([{ kind: "pull-request", rev: head, pr_url: pr.pr_url, nvr: "chrony-4.6.1-1.fc41" }]);
    const repo = (done.body["repo"] as { location: string }).location;
    expect(await ostree(repo, "cat", done.body["commit"] as string, "/usr/sbin/chronyd")).toContain("chronyd 4.6.1 (pull request)");

    // Delivered again, it is built again — byte for byte the same (the commit's date is the build time) — and the commit is reused.
    const from = watcher.seen.length;
    await queueChangeSet([pr]);
    const again = await watcher.waitFor(ended(id), 240_000, from);
    expect(again.body).toMatchObject({ commit: done.body["commit"], input_hash: done.body["input_hash"], reused: true });
  });

  it("travels with a Koji build of another package: both repositories are candidates", async () => {
    const pr: ChangeSetMember = { kind: "pull-request", package: "chrony", repo: "rpms/chrony", branch: "f41", pr_url: "https://src.fixture.invalid/rpms/chrony/pull-request/1", rev: prHead, source_message_id: "pr-1b", source_topic: "org.fedoraproject.prod.pagure.pull-request.updated" };
    const koji: ChangeSetMember = { kind: "build", package: "ostree", nvr: "ostree-2024.9-1.fc41", source_message_id: "koji-1", source_topic: "org.fedoraproject.prod.buildsys.build.state.change" };
    const id = await queueChangeSet([koji, pr]);
    const done = await watcher.waitFor(ended(id), 240_000);
    expect(done.topic, JSON.stringify(done.body)).toBe("pipeline.compose.complete");
    const repo = (done.body["repo"] as { location: string }).location;
    const pkglist = await ostree(repo, "show", "--print-metadata-key=rpmostree.rpmdb.pkglist", done.body["commit"] as string);
    expect(pkglist).toContain("('ostree', '0', '2024.9', '1.fc41', 'x86_64')");
    expect(await ostree(repo, "cat", done.body["commit"] as string, "/usr/sbin/chronyd")).toContain("chronyd 4.6.1 (pull request)");
    expect(done.body["scratch_builds"]).toMatchObject([{ package: "chrony", rev: prHead }]);
  });

  it("diverging from another commit of the package in the same change set is a compose failure", async () => {
    const push: ChangeSetMember = { kind: "dist-git-commit", package: "chrony", repo: "rpms/chrony", branch: "f41", rev: bumped, touches: ["spec"], source_message_id: "push-3", source_topic: "org.fedoraproject.prod.git.receive" };
    const pr: ChangeSetMember = { kind: "pull-request", package: "chrony", repo: "rpms/chrony", branch: "f41", pr_url: "https://src.fixture.invalid/rpms/chrony/pull-request/1", rev: prHead, source_message_id: "pr-1c", source_topic: "org.fedoraproject.prod.pagure.pull-request.updated" };
    const id = await queueChangeSet([push, pr]);
    const done = await watcher.waitFor(ended(id), 120_000);
    expect(done.body).toMatchObject({ kind: "compose-failure", reason: expect.stringContaining("ambiguous") as unknown });
  });

  it("that cannot be fetched is an infrastructure error: retried, then reported once", async () => {
    const pr: ChangeSetMember = { kind: "pull-request", package: "chrony", repo: "rpms/chrony", branch: "f41", pr_url: "https://src.fixture.invalid/rpms/chrony/pull-request/2", rev: "f".repeat(40), source_message_id: "pr-2", source_topic: "org.fedoraproject.prod.pagure.pull-request.new" };
    const id = await queueChangeSet([pr]);
    const done = await watcher.waitFor(ended(id), 120_000);
    expect(done.body).toMatchObject({ kind: "infrastructure-error", reason: expect.stringContaining("cannot fetch rpms/chrony") as unknown });
    expect(watcher.seen.filter((m) => m.topic === "pipeline.compose.running" && m.body["change_set_id"] === id)).toHaveLength(2);
  });
});

describe("a spec that does not build", () => {
  it("is a compose failure saying build-failure, with the build log's tail", async () => {
    const id = await pushSpec(withBuild(original, "echo 'scratch test: about to fail' >&2\nexit 3"), "Break the build");
    const done = await watcher.waitFor(ended(id), 120_000);
    expect(done.body).toMatchObject({ kind: "compose-failure", failure: "build-failure", build: { package: "chrony", repo: "rpms/chrony" } });
    expect(done.body["reason"]).toMatch(/^build-failure: rpms\/chrony at [0-9a-f]{12}: rpmbuild exited with 1/);
    expect(done.body["reason"]).toContain("scratch test: about to fail");
    expect(done.body["reason"]).toContain("(%build)");
    // A verdict, not a hiccup: one attempt.
    expect(watcher.seen.filter((m) => m.topic === "pipeline.compose.running" && m.body["change_set_id"] === id)).toHaveLength(1);
  });

  it("fails when it reaches for the network: the sandbox has none", async () => {
    const id = await pushSpec(withBuild(original, `curl -sS --max-time 20 http://127.0.0.1:${port}/ || { echo 'scratch test: no network' >&2; exit 4; }`), "Download something while building");
    const done = await watcher.waitFor(ended(id), 120_000);
    expect(done.body).toMatchObject({ kind: "compose-failure", failure: "build-failure" });
    expect(done.body["reason"]).toContain("scratch test: no network");
    expect(connections).toBe(0);
  });

  it("fails when it writes outside its build tree: the host is read-only", async () => {
    const lines = ["touch %{_topdir}/../escaped || { echo 'scratch test: workdir is read-only' >&2; failed=1; }", "touch %{_sourcedir}/escaped || { echo 'scratch test: checkout is read-only' >&2; failed=1; }", "touch /etc/escaped /usr/escaped || failed=1", 'test -z "$failed"'].join("\n");
    const id = await pushSpec(withBuild(original, lines), "Write where it should not");
    const done = await watcher.waitFor(ended(id), 120_000);
    expect(done.body).toMatchObject({ kind: "compose-failure", failure: "build-failure" });
    expect(done.body["reason"]).toContain("scratch test: workdir is read-only");
    expect(done.body["reason"]).toContain("scratch test: checkout is read-only");
    expect(done.body["reason"]).toContain("Read-only file system");
  });
});
