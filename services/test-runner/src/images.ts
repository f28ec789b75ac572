// Tests in the booted image: for each `pipeline.image.complete`, the qcow2 is booted once under
// QEMU (@atomic-ci/images' bootTest) and the image-scoped tests run inside it — the built-in
// boot-sanity plus the tests tagged `image` among the compose's changed packages' dist-git tests
// and the host definition's tests. Each is reported like a test in the tree (Fedora CI
// `ci.productmd-compose.test.*`, ResultsDB results on the compose's commit), with scenario
// `<arch>.qcow2.qemu`, and summed up in `<namespace>.compose.image-tests.functional`, the result
// the image gate requires. See docs/images.md §8 and docs/tests.md "Tests in the booted image".
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { isBusError, Outcomes, type Bus, type BusMessage, type HandlerContext, type Outcome } from "@atomic-ci/bus";
import { BOOT_SANITY, bootTest, type BootOutcome, type BootTest } from "@atomic-ci/images";
import {
  ChangeSetQueued,
  ciTestTopic,
  ComposeComplete,
  ImageComplete,
  RESULTSDB_RESULT_NEW_TOPIC,
  type CiTestState,
  type ResultsdbOutcome,
  type ResultsdbResult,
} from "@atomic-ci/messages";
import { discoverHostTests, parseChecks, verdict, type NewResult, type PlanStore, type ResultsStore, type TestCase } from "@atomic-ci/testing";
import { distGitRepos, runTool, type DistGitRepos, type RepositoryResolver, type ToolContext } from "@atomic-ci/tools";
import type { TestRunnerSection } from "./config.js";
import { definitionRepoPath } from "./definition-repo.js";
import { DistGitLookups } from "./lookups.js";
import { errorBody, gateResultOf, queuedBody, resultOf, slug, testcaseOf, testTypes, CI_CATEGORY, type CiContext, type GateGroup, type PlannedTest, type RunLinks } from "./messages.js";
import { changedBuilds, changedRevs, distGitRepoOf, hostBuilds, type ChangedBuild } from "./resolve.js";

/** The tag that marks a package's or the host definition's test for the booted image too. */
export const IMAGE_TAG = "image";
/** Outcomes that settle a test on a commit (as for the tests in the tree). */
const FINAL = new Set<ResultsdbOutcome>(["PASSED", "FAILED", "INFO", "NEEDS_INSPECTION"]);
const KEPT = 1000;

export interface ImageTesterDeps {
  bus: Pick<Bus, "publish">;
  settings: TestRunnerSection;
  store: ResultsStore;
  tools: ToolContext;
  now: () => Date;
  /** The boot test; replaceable in unit tests. */
  bootTest?: typeof bootTest;
  /** Where the host definition is read (a mirror of a remote repo); default: `settings.definition.repo` as a path. */
  definitionRepo?: RepositoryResolver;
  /** The packages' dist-git (shared with the tree's runner); default: from `settings.distGit`. */
  distGit?: DistGitRepos;
  /** Build commits and discoveries kept between composes (shared with the tree's runner); default: its own. */
  lookups?: DistGitLookups;
  /**
   * Where the compose and change set messages seen are kept (the plans' document store: Redis
   * when the results are). A restart between a compose and its image must not shrink the
   * image's tests to the host's own: the gate would pass on fewer tests than it should.
   */
  documents?: PlanStore;
}

/** Document keys of what `observe` keeps, beside the tree's plans. */
const contextKeys = {
  compose: (commit: string) => `image-context:compose:${commit}`,
  changeSet: (id: string) => `image-context:change-set:${id}`,
};

/** One test planned for the booted image. */
interface ImagePlanned extends PlannedTest {
  /** The name on the test disk and the console: `boot-sanity`, `<component>.<type>`. */
  bootName: string;
}

/** `<namespace>.compose.image-tests.functional`: what the image gate requires. */
export function imageSummaryTestcase(namespace: string): string {
  return `${namespace}.compose.image-tests.${CI_CATEGORY}`;
}

/** `<arch>.qcow2.qemu`: the scenario of every test in the booted image. */
export function imageScenario(basearch: string): string {
  return `${basearch}.qcow2.qemu`;
}

/** Is this test marked for the booted image? */
export function isImageTest(test: Pick<TestCase, "tags">): boolean {
  return test.tags?.includes(IMAGE_TAG) ?? false;
}

/** The script run in the guest for a discovered test: its environment, then its command in its directory. */
export function guestScript(test: TestCase, commit: string): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // The sandbox's environment (docs/tests.md): the same test sees the same variables in the tree and in the image.
  const env = { ...test.environment, PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", HOME: "/root", USER: "root", LANG: "C", TERM: "dumb", TEST_SUBJECTS: commit, ATOMIC_CI_ATTEMPT: "1" };
  return `#!/bin/sh
# ${test.id} at ${test.commit}, run inside the booted image.
${Object.entries(env)
  .map(([k, v]) => `export ${k}=${quote(v)}`)
  .join("\n")}
exec ${test.command.map(quote).join(" ")}
`;
}

export class ImageTester {
  private readonly workDir: string;
  private readonly composes = new Map<string, ComposeComplete>();
  private readonly changeSets = new Map<string, ChangeSetQueued>();

  private readonly distGit: DistGitRepos | undefined;
  private readonly lookups: DistGitLookups;

  constructor(private readonly deps: ImageTesterDeps) {
    this.workDir = resolve(deps.settings.workDir);
    this.distGit = deps.distGit ?? distGitRepos(deps.settings.distGit, deps.tools);
    this.lookups = deps.lookups ?? new DistGitLookups(deps.tools, deps.settings.distGit.branch);
  }

  /**
   * Messages the tree's runner handles, remembered for the compose's changed builds and
   * definition commit: in memory, and in `documents` so a restarted runner still knows them.
   * A store that fails rejects, and the message is handled again (nothing is half-remembered).
   */
  async observe(message: BusMessage): Promise<void> {
    if (message.topic.endsWith("pipeline.change-set.queued")) {
      const parsed = ChangeSetQueued.safeParse(message.body);
      if (!parsed.success) return;
      remember(this.changeSets, parsed.data.change_set_id, parsed.data);
      await this.deps.documents?.put(contextKeys.changeSet(parsed.data.change_set_id), message.body);
    } else if (message.topic.endsWith("pipeline.compose.complete")) {
      const parsed = ComposeComplete.safeParse(message.body);
      if (!parsed.success) return;
      remember(this.composes, parsed.data.commit, parsed.data);
      await this.deps.documents?.put(contextKeys.compose(parsed.data.commit), message.body);
    }
  }

  /** A remembered message: from memory, else from `documents` (after a restart). */
  private async recall<T>(cache: Map<string, T>, key: string, docKey: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): Promise<T | undefined> {
    const cached = cache.get(key);
    if (cached !== undefined || !this.deps.documents) return cached;
    const parsed = schema.safeParse(await this.deps.documents.get(docKey));
    if (!parsed.success) return undefined;
    remember(cache, key, parsed.data);
    return parsed.data;
  }

  async handle(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    const image = ImageComplete.parse(message.body);
    if (image.change_set_id) context.setChangeSet(image.change_set_id);
    await this.testImage(image, context);
    return Outcomes.ack();
  }

  /** Boots the image's qcow2 once and reports every image-scoped test not yet settled on the commit. */
  async testImage(image: ImageComplete, context: Pick<HandlerContext, "log">): Promise<void> {
    const { settings } = this.deps;
    const qcow2 = image.images["qcow2"];
    if (!qcow2) {
      context.log.warn({ commit: image.commit, formats: Object.keys(image.images) }, "image complete without a qcow2: nothing to boot");
      return;
    }
    const compose = await this.recall(this.composes, image.commit, contextKeys.compose(image.commit), ComposeComplete);
    const changeSetId = image.change_set_id ?? compose?.change_set_id ?? "unknown";
    const ctx = (): CiContext => ({
      compose: { compose_id: image.compose_id, commit: image.commit, os_version: image.os_version, change_set_id: changeSetId },
      contact: settings.contact,
      basearch: settings.basearch,
      now: this.deps.now(),
    });
    const headers: Record<string, string> = image.change_set_id ? { atomic_ci_change_set: image.change_set_id } : {};
    const { planned, failures } = await this.plan(image, compose, context);
    const summary: GateGroup = {
      // Reported on the compose like the package and host summaries (kind only picks the subject type).
      kind: "host-tests",
      testcase: imageSummaryTestcase(settings.namespace),
      item: image.commit,
      testcases: [...planned.map(testcaseOf), ...failures.map((f) => testcaseOf(f.planned))],
    };
    const summarize = () => this.summarize(summary, ctx(), headers);

    for (const failure of failures) {
      if (await this.settled(image.commit, testcaseOf(failure.planned))) continue;
      await this.publish(ciTestTopic("productmd-compose", "error"), this.errorBody(failure.planned, failure.reason, this.links(image, failure.planned), ctx()), headers);
      await this.final(this.result(failure.planned, "ERROR", ctx(), { note: failure.reason }), headers);
    }
    const todo: ImagePlanned[] = [];
    for (const p of planned) if (!(await this.settled(image.commit, testcaseOf(p)))) todo.push(p);
    context.log.info({ commit: image.commit, qcow2: qcow2.path, tests: todo.map(testcaseOf), already: planned.length - todo.length }, "testing image");
    if (todo.length === 0) {
      await summarize();
      return;
    }
    for (const p of todo) {
      await this.announce("queued", this.queuedBody(p, this.links(image, p), ctx()), headers);
      await this.deps.store.submit(this.result(p, "QUEUED", ctx()));
    }
    await summarize();
    // One boot runs them all: they are running from QEMU's start.
    for (const p of todo) {
      await this.announce("running", this.queuedBody(p, this.links(image, p), ctx()), headers);
      await this.deps.store.submit(this.result(p, "RUNNING", ctx()));
    }
    await summarize();

    const runDir = join(this.workDir, "runs", image.compose_id, "image");
    await mkdir(runDir, { recursive: true });
    const scratch = await mkdtemp(join(this.workDir, "image-boot-"));
    let boot: BootOutcome;
    let attemptDir = "";
    const start = performance.now();
    try {
      for (let attempt = 1; ; attempt++) {
        attemptDir = await mkdtemp(join(runDir, `boot-${attempt}-`));
        try {
          // Each attempt takes the tests from git again: a failed `git archive` is retried too.
          const tests = await this.bootTests(todo.filter((p) => p.bootName !== BOOT_SANITY), image.commit, join(scratch, `attempt-${attempt}`));
          // The boot has its own budget; once the tests start, theirs (each one is also limited in the guest).
          const testsTimeoutMs = 60_000 + tests.reduce((sum, t) => sum + (t.timeoutMs ?? 0), 0);
          boot = await (this.deps.bootTest ?? bootTest)(
            { qcow2: qcow2.path, workDir: join(scratch, `attempt-${attempt}`, "boot"), tests, commit: image.commit, timeoutMs: settings.image.bootTimeoutMs, testsTimeoutMs, memoryMiB: settings.image.memoryMiB },
            this.deps.tools,
          );
        } catch (err) {
          // The runner's own failure (git or a tool missing, scratch space full): an error of the boot like any other.
          boot = { status: "error", kind: "runner-failed", reason: err instanceof Error ? err.message : String(err), results: [], timings: {}, console: "" };
        }
        await writeFile(join(attemptDir, "console.log"), boot.console);
        context.log.info({ commit: image.commit, attempt, status: boot.status, ...(boot.status === "error" ? { kind: boot.kind, reason: boot.reason } : {}), timings: boot.timings }, "image booted");
        if (boot.status !== "error" || attempt > settings.errorRetries) break;
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    const runtime = Math.round(performance.now() - start) / 1000;
    const consoleUrl = this.artifactUrl(join(attemptDir, "console.log"));

    if (boot.status === "error") {
      // A panic, a hang, an emergency shell: nothing that boot said about a test counts.
      const reason = `${boot.kind}: ${boot.reason}`;
      for (const p of todo) {
        const links = { ...this.links(image, p), log: consoleUrl };
        await this.publish(ciTestTopic("productmd-compose", "error"), this.errorBody(p, reason, links, ctx(), [consoleUrl]), headers);
        await this.final(this.result(p, "ERROR", ctx(), { note: reason, refUrl: consoleUrl }), headers);
        await summarize();
      }
      return;
    }
    for (const p of todo) {
      const found = boot.results.find((r) => r.name === p.bootName);
      const lines = found?.log ?? [];
      const logPath = join(attemptDir, testcaseOf(p), "output.log");
      await mkdir(join(attemptDir, testcaseOf(p)), { recursive: true });
      await writeFile(logPath, lines.length > 0 ? `${lines.join("\n")}\n` : "");
      const logUrl = this.artifactUrl(logPath);
      const links = { ...this.links(image, p), log: logUrl };
      const judged = found?.outcome === "PASS" ? verdict(found.exitCode ?? 0, parseChecks(lines.join("\n"))) : { outcome: "failed" as const, reason: found ? failReason(lines, found.exitCode) : "no result on the console" };
      await this.publish(ciTestTopic("productmd-compose", "complete"), this.completeBody(p, judged, runtime, links, [logUrl, consoleUrl], ctx()), headers);
      await this.final(this.result(p, judged.outcome === "passed" ? "PASSED" : "FAILED", ctx(), { note: judged.reason ?? "", refUrl: logUrl, passedOnRerun: false }), headers);
      await summarize();
    }
  }

  /** boot-sanity, then the tests tagged `image` of each changed build and of the host definition. */
  private async plan(image: ImageComplete, compose: ComposeComplete | undefined, context: Pick<HandlerContext, "log">): Promise<{ planned: ImagePlanned[]; failures: { planned: PlannedTest; reason: string }[] }> {
    const { settings, tools } = this.deps;
    const ns = `${settings.namespace}.image`;
    const sanity: TestCase = { id: `image/${BOOT_SANITY}`, package: "image", source: "host", name: BOOT_SANITY, dir: ".", command: [], requires: [], timeoutMs: 0, allowedReruns: 0, environment: {}, commit: image.commit, file: "" };
    const planned: ImagePlanned[] = [{ test: sanity, gitDir: "", component: "image", namespace: ns, type: BOOT_SANITY, bootName: BOOT_SANITY }];
    const failures: { planned: PlannedTest; reason: string }[] = [];
    const add = (all: TestCase[], base: Omit<PlannedTest, "test" | "type" | "namespace">) => {
      // Types as in the tree (computed over all the component's tests), so the names match.
      const types = testTypes(all);
      for (const test of all.filter(isImageTest)) {
        const type = types.get(test) ?? slug(test.name);
        planned.push({ ...base, test, namespace: `${ns}.${slug(base.component)}`, type, bootName: `${slug(base.component)}.${type}` });
      }
    };
    const failed = (component: string, gitDir: string, reason: string) => {
      const test: TestCase = { ...sanity, id: `${component}/discovery`, package: component, name: "discovery", commit: "unknown" };
      failures.push({ planned: { test, gitDir, component, namespace: `${ns}.${slug(component)}`, type: "discovery" }, reason });
    };
    const changeSetId = image.change_set_id ?? compose?.change_set_id;
    const changeSet = changeSetId === undefined ? undefined : await this.recall(this.changeSets, changeSetId, contextKeys.changeSet(changeSetId), ChangeSetQueued);
    const repos = this.distGit;
    /** A package's repository (holding `rev`), or a discovery failure saying why there is none. */
    const repoOf = async (name: string, rev?: string): Promise<string | undefined> => {
      const found = await distGitRepoOf(repos, name, rev);
      if ("path" in found) return found.path;
      failed(name, "", found.reason);
      return undefined;
    };
    if (repos && (compose || changeSet)) {
      const pkgdiff = compose?.pkgdiff ?? { added: [], removed: [], upgraded: [], downgraded: [] };
      const revs = changedRevs(changeSet, compose?.scratch_builds);
      const builds: ChangedBuild[] = [];
      try {
        builds.push(...(await changedBuilds(pkgdiff, changeSet, repos, revs)));
        if (compose) {
          // The image is the whole host: every package in it (its lockfile) brings its image tests, at the version composed.
          const changed = new Set([...builds.map((b) => b.name), ...revs.map((r) => r.name)]);
          builds.push(...(await hostBuilds(compose.lockfile.location, repos)).filter((b) => !changed.has(b.name)));
        }
      } catch (err) {
        // Which packages the image holds is unknown (the lockfile, the forge): an ERROR, not fewer tests.
        failed("host-packages", "", `the image's packages cannot be listed: ${err instanceof Error ? err.message : String(err)}`);
      }
      // A dist-git commit's or pull request's image tests come from that commit (as in the tree).
      for (const r of revs) {
        const gitDir = await repoOf(r.name, r.rev);
        if (gitDir === undefined) continue;
        try {
          add((await this.lookups.discover({ repo: gitDir, rev: r.rev, package: r.name })).tests, { gitDir, component: r.name, ...(r.nvr ? { nvr: r.nvr } : {}) });
        } catch (err) {
          failed(r.name, gitDir, `test discovery failed for ${r.name} at ${r.rev.slice(0, 12)}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      for (const build of builds) {
        const gitDir = await repoOf(build.name);
        if (gitDir === undefined) continue;
        try {
          const commit = await this.lookups.buildCommit(gitDir, build);
          if (!commit) {
            failed(build.name, gitDir, `no commit of ${build.name}'s dist-git has the spec of ${build.nvr}`);
            continue;
          }
          add((await this.lookups.discover({ repo: gitDir, rev: commit, package: build.name })).tests, { gitDir, component: build.name, nvr: build.nvr });
        } catch (err) {
          failed(build.name, gitDir, `test discovery failed for ${build.nvr}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } else if (repos) {
      // After a restart the compose (its package diff) is not known: the host's own image tests still run.
      context.log.warn({ commit: image.commit }, "compose of this image not seen: no package tests in the image");
    }
    if (settings.definition.repo) {
      const rev = changeSet?.definition.rev ?? settings.definition.branch;
      let repo = settings.definition.repo;
      try {
        repo = await definitionRepoPath(settings.definition.repo, this.deps.definitionRepo, rev);
        add((await discoverHostTests({ repo, rev, name: settings.definition.name }, tools)).tests, { gitDir: repo, component: settings.definition.name });
      } catch (err) {
        failed(settings.definition.name, repo, `host test discovery failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return { planned, failures };
  }

  /** The tests for the test disk: each one's directory taken from git at its commit, and its script. */
  private async bootTests(planned: readonly ImagePlanned[], commit: string, scratch: string): Promise<BootTest[]> {
    const tests: BootTest[] = [];
    for (const p of planned) {
      const dir = join(scratch, "src", p.bootName);
      await mkdir(dir, { recursive: true });
      const tar = join(scratch, `${p.bootName}.tar`);
      const tree = p.test.dir === "." ? p.test.commit : `${p.test.commit}:${p.test.dir}`;
      await runTool("git", ["-C", p.gitDir, "archive", "--format=tar", "-o", tar, tree], { env: this.deps.tools.env, timeoutMs: 60_000 });
      await runTool("tar", ["-xf", tar, "-C", dir], { env: this.deps.tools.env, timeoutMs: 60_000 });
      tests.push({ name: p.bootName, script: guestScript(p.test, commit), dir, timeoutMs: p.test.timeoutMs });
    }
    return tests;
  }

  private result(p: PlannedTest, outcome: ResultsdbOutcome, ctx: CiContext, extra: { note?: string; refUrl?: string; passedOnRerun?: boolean } = {}): NewResult {
    const r = resultOf(p, outcome, ctx, extra);
    return { ...r, data: { ...r.data, scenario: [imageScenario(ctx.basearch)] } };
  }

  private queuedBody(p: PlannedTest, links: RunLinks, ctx: CiContext) {
    const body = queuedBody(p, links, ctx);
    return { ...body, test: { ...body.test, scenario: imageScenario(ctx.basearch) } };
  }

  private completeBody(p: PlannedTest, judged: { outcome: "passed" | "failed"; reason?: string }, runtime: number, links: RunLinks, outputUrls: string[], ctx: CiContext) {
    const common = this.queuedBody(p, links, ctx);
    return {
      ...common,
      test: { ...common.test, result: judged.outcome, runtime, output_urls: outputUrls, ...(judged.reason ? { output: judged.reason } : {}), label: [] },
      system: [this.system(ctx)],
    };
  }

  private errorBody(p: PlannedTest, reason: string, links: RunLinks, ctx: CiContext, outputUrls?: string[]) {
    const body = errorBody(p, reason, links, ctx);
    return { ...body, test: { ...body.test, scenario: imageScenario(ctx.basearch), ...(outputUrls ? { output_urls: outputUrls } : {}) }, system: [this.system(ctx)] };
  }

  private system(ctx: CiContext) {
    return { os: `fedora-atomic-host-${ctx.compose.os_version}`, provider: "qemu", architecture: ctx.basearch };
  }

  private async settled(commit: string, testcase: string): Promise<boolean> {
    const [latest] = await this.deps.store.latest({ item: [commit], testcases: [testcase] });
    return latest !== undefined && FINAL.has(latest.outcome);
  }

  /** The image summary, stored and published when its outcome (or, once final, its note) changed. */
  private async summarize(group: GateGroup, ctx: CiContext, headers: Record<string, string>): Promise<void> {
    const commit = ctx.compose.commit;
    const latest = new Map<string, ResultsdbResult>();
    if (group.testcases.length > 0) {
      for (const r of await this.deps.store.latest({ item: [commit], testcases: group.testcases })) latest.set(r.testcase.name, r);
    }
    const computed = gateResultOf(group, latest, ctx);
    const result: NewResult = { ...computed, data: { ...computed.data, scenario: [imageScenario(ctx.basearch)] } };
    const [previous] = await this.deps.store.latest({ item: [group.item], testcases: [group.testcase], data: { compose: [commit] } });
    if (previous?.outcome === result.outcome && (result.outcome === "QUEUED" || result.outcome === "RUNNING" || previous.note === result.note)) return;
    await this.final(result, headers);
  }

  private async final(result: NewResult, headers: Record<string, string>): Promise<ResultsdbResult> {
    const stored = await this.deps.store.submit(result);
    await this.publish(RESULTSDB_RESULT_NEW_TOPIC, stored, headers);
    return stored;
  }

  private links(image: ImageComplete, p: PlannedTest): RunLinks {
    const url = new URL(`runs/${encodeURIComponent(image.compose_id)}/${encodeURIComponent(testcaseOf(p))}`, this.deps.settings.dashboardUrl).toString();
    return { url, log: url };
  }

  /** `<artifactsUrl>` + the path below workDir/runs, as for the tests in the tree. */
  private artifactUrl(path: string): string {
    return new URL(relative(join(this.workDir, "runs"), path).split("/").map(encodeURIComponent).join("/"), this.deps.settings.artifactsUrl).toString();
  }

  private async publish(topic: string, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.deps.bus.publish(topic, body, { headers }).catch((err: unknown) => {
      if (!isBusError(err, "PUBLISH_RETURNED")) throw err;
    });
  }

  private async announce(state: CiTestState, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.publish(ciTestTopic("productmd-compose", state), body, headers);
  }
}

/** Why a test failed in the guest: its first FAIL/ERROR line, else its exit status. */
function failReason(lines: readonly string[], exitCode: number | undefined): string {
  const bad = parseChecks(lines.join("\n")).find((c) => c.result !== "PASS");
  if (bad) return `${bad.result} ${bad.name}`;
  // busybox `timeout` ends the test with SIGTERM: 143.
  return exitCode === 143 ? "timeout: the test's time limit passed in the guest" : `exit code ${exitCode ?? "?"}`;
}

function remember<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  map.set(key, value);
  for (const old of map.keys()) {
    if (map.size <= KEPT) break;
    map.delete(old);
  }
}
