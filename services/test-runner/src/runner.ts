// The test-runner's adapter: a compose in, Fedora CI test messages and ResultsDB results out.
// Discovery and the sandbox are @atomic-ci/testing's; this file decides what to test on a
// compose, names the results, and publishes.
import { join, relative, resolve } from "node:path";
import { isBusError, Outcomes, type Bus, type BusMessage, type HandlerContext, type Outcome } from "@atomic-ci/bus";
import {
  ChangeSetQueued,
  ciTestTopic,
  ComposeComplete,
  OperatorRequest,
  RESULTSDB_RESULT_NEW_TOPIC,
  type CiTestState,
  type ResultsdbResult,
} from "@atomic-ci/messages";
import {
  CONTAINER_TEST_PART,
  discoverContainerTests,
  discoverHostTests,
  MemoryPlanStore,
  RerunRejected,
  runAnyTest,
  TreeCache,
  type PlanStore,
  type RerunHandler,
  type RerunRequest,
  type RerunTarget,
  type ResultsStore,
  type TestCase,
  type TestRun,
} from "@atomic-ci/testing";
import { distGitRepos, type DistGitRepos, type RepositoryResolver, type ToolContext } from "@atomic-ci/tools";
import type { TestRunnerSection } from "./config.js";
import { definitionRepoPath } from "./definition-repo.js";
import { DistGitLookups } from "./lookups.js";
import {
  completeBody,
  composeSummaryTestcase,
  errorBody,
  gateResultOf,
  outcomeOf,
  queuedBody,
  resultOf,
  slug,
  testcaseOf,
  testTypes,
  type CiContext,
  type GateGroup,
  type PlannedTest,
  type RunLinks,
} from "./messages.js";
import { ComposePlan, PLAN_VERSION, planKeys } from "./plan.js";
import { changedBuilds, changedRevs, distGitRepoOf, hostBuilds, type ChangedBuild } from "./resolve.js";

export interface TestRunnerDeps {
  bus: Pick<Bus, "publish">;
  settings: TestRunnerSection;
  store: ResultsStore;
  tools: ToolContext;
  now: () => Date;
  /** What was planned per compose, for re-runs on request; default in memory. */
  plans?: PlanStore;
  /** Where a re-run accepted over HTTP reports how it ended (it runs after the reply). */
  log?: Pick<HandlerContext["log"], "info" | "warn" | "error">;
  /** The sandbox runner (a key-container test by its own runner); replaceable in unit tests. */
  runTest?: typeof runAnyTest;
  /** Where the host definition is read (a mirror of a remote repo); default: `settings.definition.repo` as a path. */
  definitionRepo?: RepositoryResolver;
  /** The packages' dist-git (shared with the image tester); default: from `settings.distGit`. */
  distGit?: DistGitRepos;
  /** Build commits and discoveries kept between composes (shared with the image tester); default: its own. */
  lookups?: DistGitLookups;
}

/** Outcomes that settle a test on a commit: a repeat of the compose does not run it again. */
const FINAL = new Set(["PASSED", "FAILED", "INFO", "NEEDS_INSPECTION"]);
/** Change sets remembered for their members and definition commit. */
const CHANGE_SETS_KEPT = 1000;

type Failure = Omit<PlannedTest, "type" | "test"> & { reason: string; commit: string };
type Log = Pick<HandlerContext["log"], "info" | "warn" | "error">;

/** One compose being tested (or re-tested): what every test of it shares. */
interface Job {
  compose: ComposePlan["compose"];
  repo: string;
  groups: GateGroup[];
  headers: Record<string, string>;
}

export class TestRunner implements RerunHandler {
  private readonly workDir: string;
  private readonly trees = new Map<string, TreeCache>();
  private readonly changeSets = new Map<string, ChangeSetQueued>();
  private readonly plans: PlanStore;
  /** Where the packages' dist-git repositories are read (testRunner.distGit); none: no package tests. */
  private readonly distGit: DistGitRepos | undefined;
  private readonly lookups: DistGitLookups;
  /** One test at a time per runner, whether from a compose or a re-run: the sandbox is the costly part. */
  private lane: Promise<unknown> = Promise.resolve();
  /** `<commit> <testcase>` of re-runs queued or running here: a second request for one waits its turn by being refused. */
  private readonly rerunning = new Set<string>();

  constructor(private readonly deps: TestRunnerDeps) {
    this.workDir = resolve(deps.settings.workDir);
    this.plans = deps.plans ?? new MemoryPlanStore();
    this.distGit = deps.distGit ?? distGitRepos(deps.settings.distGit, deps.tools);
    this.lookups = deps.lookups ?? new DistGitLookups(deps.tools, deps.settings.distGit.branch);
  }

  async handle(message: BusMessage, context: HandlerContext): Promise<Outcome> {
    if (message.topic.endsWith("pipeline.change-set.queued")) {
      const changeSet = ChangeSetQueued.parse(message.body);
      this.changeSets.delete(changeSet.change_set_id);
      this.changeSets.set(changeSet.change_set_id, changeSet);
      for (const key of this.changeSets.keys()) {
        if (this.changeSets.size <= CHANGE_SETS_KEPT) break;
        this.changeSets.delete(key);
      }
      return Outcomes.ack();
    }
    if (message.topic.endsWith("pipeline.operator.request")) {
      const request = OperatorRequest.parse(message.body);
      // compose, rerun, hold, ... are other services' requests.
      if (request.action !== "rerun-test") {
        context.log.debug({ action: request.action }, "operator request for another service; ignored");
        return Outcomes.ack();
      }
      try {
        const done = await this.rerun({ compose: request.compose, testcase: request.testcase, reason: request.reason, requestedBy: request.requested_by }, context.log);
        context.log.info({ testcase: request.testcase, commit: done.commit, outcome: done.outcome, requested_by: request.requested_by }, "re-run on request finished");
      } catch (err) {
        // Asking again will not help: say why and drop the request.
        if (!(err instanceof RerunRejected)) throw err;
        context.log.warn({ code: err.code, compose: request.compose, testcase: request.testcase, err: err.message }, "re-run request refused");
      }
      return Outcomes.ack();
    }
    const compose = ComposeComplete.parse(message.body);
    context.setChangeSet(compose.change_set_id);
    await this.testCompose(compose, context);
    return Outcomes.ack();
  }

  /** Every test of the compose's changed packages (and, for the compose gate, every host package) and of the host, each once per commit. */
  async testCompose(compose: ComposeComplete, context: Pick<HandlerContext, "log">): Promise<void> {
    const job: Job = { compose: pick(compose), repo: compose.repo.location, groups: [], headers: { atomic_ci_change_set: compose.change_set_id } };
    const { planned, failures, groups } = await this.plan(compose, context);
    job.groups = groups;
    await this.remember(job, planned);

    for (const failure of failures) {
      // A test that could not even be discovered is the runner's problem for that component: an error result.
      const pseudo: PlannedTest = { ...failure, type: "discovery", test: { id: `${failure.component}/discovery`, package: failure.component, source: "host", name: "discovery", dir: ".", command: [], requires: [], timeoutMs: 0, allowedReruns: 0, environment: {}, commit: failure.commit, file: "" } };
      if (await this.settled(compose.commit, testcaseOf(pseudo))) continue;
      const links = this.links(job, pseudo, undefined, false);
      await this.publish(ciTestTopic("productmd-compose", "error"), errorBody(pseudo, failure.reason, links, this.ctx(job)), job.headers);
      await this.final(resultOf(pseudo, "ERROR", this.ctx(job), { note: failure.reason }), job.headers);
    }

    const todo: PlannedTest[] = [];
    for (const p of planned) if (!(await this.settled(compose.commit, testcaseOf(p)))) todo.push(p);
    context.log.info({ commit: compose.commit, tests: todo.map(testcaseOf), already: planned.length - todo.length }, "testing compose");
    for (const p of todo) await this.queue(job, p);
    await this.gates(job);
    for (const p of todo) await this.execute(job, p, context.log);
    // Nothing left to run (a repeated commit): the summaries still say where the commit stands.
    if (todo.length === 0) await this.gates(job);
  }

  // ---- re-runs on request (CLI, API, bus: docs/tests.md, "Retries and re-runs") ----

  /** Resolves once every test queued so far (re-runs accepted over HTTP included) has finished. */
  async idle(): Promise<void> {
    for (let lane = this.lane; ; lane = this.lane) {
      await lane;
      if (lane === this.lane) return;
    }
  }

  async describeRerun(compose: string, testcase: string): Promise<RerunTarget & { latest: ResultsdbResult | null }> {
    const { plan } = await this.find(compose, testcase);
    const [latest] = await this.deps.store.latest({ item: [plan.compose.commit], testcases: [testcase] });
    return { compose_id: plan.compose.compose_id, commit: plan.compose.commit, testcase, latest: latest ?? null };
  }

  /** The API's way: queued now (the QUEUED result is the answer), run in turn after the reply. */
  async requestRerun(request: RerunRequest): Promise<RerunTarget & { result: ResultsdbResult }> {
    const { job, planned, key } = await this.claim(request);
    try {
      const result = await this.queue(job, planned, request);
      await this.gates(job);
      const log = this.deps.log;
      void this.execute(job, planned, log, request)
        .catch((err: unknown) => log?.error({ err, testcase: request.testcase }, "re-run failed"))
        .finally(() => this.rerunning.delete(key));
      return { compose_id: job.compose.compose_id, commit: job.compose.commit, testcase: request.testcase, result };
    } catch (err) {
      this.rerunning.delete(key);
      throw err;
    }
  }

  /** The bus's way: queued and run before the message is acknowledged. */
  async rerun(request: RerunRequest, log?: Log): Promise<RerunTarget & { outcome: string }> {
    const { job, planned, key } = await this.claim(request);
    try {
      await this.queue(job, planned, request);
      await this.gates(job);
      const final = await this.execute(job, planned, log, request);
      return { compose_id: job.compose.compose_id, commit: job.compose.commit, testcase: request.testcase, outcome: final.outcome };
    } finally {
      this.rerunning.delete(key);
    }
  }

  private async claim(request: RerunRequest): Promise<{ job: Job; planned: PlannedTest; key: string }> {
    const { plan, planned } = await this.find(request.compose, request.testcase);
    const key = `${plan.compose.commit} ${request.testcase}`;
    if (this.rerunning.has(key)) throw new RerunRejected("NOT_RERUNNABLE", `${request.testcase} is already queued or running again on ${plan.compose.commit}`);
    this.rerunning.add(key);
    const job: Job = { compose: plan.compose, repo: plan.repo, groups: plan.groups, headers: { atomic_ci_change_set: plan.compose.change_set_id } };
    return { job, planned, key };
  }

  /** The compose (by commit: its latest compose; or by compose id) and the planned test called `testcase`. */
  private async find(compose: string, testcase: string): Promise<{ plan: ComposePlan; planned: PlannedTest }> {
    const keys = planKeys(compose);
    const raw = await this.plans.get(/^[0-9a-f]{64}$/.test(compose) ? keys.commit : keys.compose);
    if (raw === undefined) throw new RerunRejected("UNKNOWN_COMPOSE", `no compose ${compose} was tested here`);
    const plan = ComposePlan.parse(raw);
    const planned = plan.planned.find((p) => testcaseOf(p) === testcase);
    if (!planned) throw new RerunRejected("UNKNOWN_TEST", `${testcase} is not a test planned on ${plan.compose.compose_id} (${plan.planned.length} are; a discovery error is tried again by the next compose of the commit)`);
    return { plan, planned };
  }

  /** Keep the plan under the compose id and the commit (the newest compose of a commit wins). */
  private async remember(job: Job, planned: PlannedTest[]): Promise<void> {
    const plan: ComposePlan = { version: PLAN_VERSION, compose: job.compose, repo: job.repo, planned, groups: job.groups };
    const keys = planKeys(job.compose.compose_id);
    await this.plans.put(keys.compose, plan);
    await this.plans.put(planKeys(job.compose.commit).commit, plan);
  }

  // ---- one test ----

  private ctx(job: Job): CiContext {
    return { compose: job.compose, contact: this.deps.settings.contact, basearch: this.deps.settings.basearch, now: this.deps.now() };
  }

  private async queue(job: Job, p: PlannedTest, rerun?: RerunRequest): Promise<ResultsdbResult> {
    await this.announce("queued", queuedBody(p, this.links(job, p), this.ctx(job)), job.headers);
    return this.deps.store.submit(resultOf(p, "QUEUED", this.ctx(job), rerunOf(rerun)));
  }

  /** Run one queued test (in the runner's single lane) and record and publish how it ended, summaries included. */
  private async execute(job: Job, p: PlannedTest, log: Log | undefined, rerun?: RerunRequest): Promise<ResultsdbResult> {
    const run = this.lane.then(() => this.executeNow(job, p, log, rerun));
    this.lane = run.catch(() => undefined);
    return run;
  }

  private async executeNow(job: Job, p: PlannedTest, log: Log | undefined, rerun?: RerunRequest): Promise<ResultsdbResult> {
    const { settings } = this.deps;
    await this.announce("running", queuedBody(p, this.links(job, p), this.ctx(job)), job.headers);
    await this.deps.store.submit(resultOf(p, "RUNNING", this.ctx(job), rerunOf(rerun)));
    let run: TestRun;
    let stored: ResultsdbResult;
    try {
      run = await (this.deps.runTest ?? runAnyTest)(
        p.test,
        {
          trees: this.treesFor(job.repo),
          subject: job.compose.commit,
          gitDir: p.gitDir,
          workDir: join(this.workDir, "runs", job.compose.compose_id),
          errorRetries: settings.errorRetries,
          maxOutputBytes: settings.limits.maxOutputBytes,
          limits: { pidsMax: settings.limits.pidsMax, mode: settings.limits.mode },
        },
        this.deps.tools,
      );
    } catch (err) {
      const reason = `runner failed: ${err instanceof Error ? err.message : String(err)}`;
      await this.publish(ciTestTopic("productmd-compose", "error"), errorBody(p, reason, this.links(job, p), this.ctx(job)), job.headers);
      stored = await this.final(resultOf(p, "ERROR", this.ctx(job), { note: reason, ...rerunOf(rerun) }), job.headers);
      await this.gates(job);
      return stored;
    }
    const links = this.links(job, p, run);
    log?.info({ testcase: testcaseOf(p), outcome: run.outcome, reason: run.reason, attempts: run.attempts.length, rerun: rerun !== undefined }, "test finished");
    if (run.outcome === "error") {
      const reason = run.reason ?? "the runner failed";
      await this.publish(ciTestTopic("productmd-compose", "error"), errorBody(p, reason, links, this.ctx(job)), job.headers);
      stored = await this.final(resultOf(p, "ERROR", this.ctx(job), { note: reason, refUrl: links.log, ...rerunOf(rerun) }), job.headers);
    } else {
      await this.publish(ciTestTopic("productmd-compose", "complete"), completeBody(p, run, { ...links, outputUrls: [links.log] }, this.ctx(job)), job.headers);
      stored = await this.final(resultOf(p, outcomeOf(run), this.ctx(job), { note: run.reason ?? "", refUrl: links.log, passedOnRerun: run.passedOnRerun, ...rerunOf(rerun) }), job.headers);
    }
    await this.gates(job);
    return stored;
  }

  // ---- planning ----

  /** The tests to run: each changed build's dist-git tests at its commit, every other host package's (compose gate), and the host's tests. */
  private async plan(compose: ComposeComplete, context: Pick<HandlerContext, "log">): Promise<{ planned: PlannedTest[]; failures: Failure[]; groups: GateGroup[] }> {
    const { settings, tools } = this.deps;
    const planned: PlannedTest[] = [];
    const failures: Failure[] = [];
    const changeSet = this.changeSets.get(compose.change_set_id);
    const groups: GateGroup[] = [];
    const packageTests: string[] = [];
    const hostTests: string[] = [];
    const add = (tests: TestCase[], base: Omit<PlannedTest, "type" | "test" | "namespace">): string[] => {
      const types = testTypes(tests);
      const names: string[] = [];
      for (const test of tests) {
        const p: PlannedTest = { ...base, test, namespace: `${settings.namespace}.${slug(base.component)}`, type: types.get(test) ?? slug(test.name) };
        planned.push(p);
        names.push(testcaseOf(p));
      }
      return names;
    };
    const buildGroup = (build: { name: string; nvr: string }, testcases: string[], distGitCommit?: string) => {
      packageTests.push(...testcases);
      // A build without tests has nothing to summarize: its gating.yaml requires none.
      if (testcases.length === 0) return;
      groups.push({ kind: "build", testcase: settings.gate.buildTestCase, item: build.nvr, testcases, component: build.name, nvr: build.nvr, ...(distGitCommit ? { distGitCommit } : {}) });
    };
    const discoveryCase = (component: string) => testcaseOf({ namespace: `${settings.namespace}.${slug(component)}`, type: "discovery" });
    /** A build's dist-git tests at the commit its spec matches; undefined (and a failure) when they cannot be found. */
    const buildTests = async (build: ChangedBuild, gitDir: string, base: Omit<PlannedTest, "type" | "test" | "namespace">): Promise<{ names: string[]; commit: string } | undefined> => {
      try {
        const commit = await this.lookups.buildCommit(gitDir, build);
        if (!commit) {
          failures.push({ ...base, namespace: `${settings.namespace}.${slug(build.name)}`, commit: "unknown", reason: `no commit of ${build.name}'s dist-git has the spec of ${build.nvr}` });
          return undefined;
        }
        return { names: add((await this.lookups.discover({ repo: gitDir, rev: commit, package: build.name })).tests, base), commit };
      } catch (err) {
        failures.push({ ...base, namespace: `${settings.namespace}.${slug(build.name)}`, commit: "unknown", reason: `test discovery failed for ${build.nvr}: ${err instanceof Error ? err.message : String(err)}` });
        return undefined;
      }
    };
    const repos = this.distGit;
    if (repos) {
      const revs = changedRevs(changeSet, compose.scratch_builds);
      let changed: ChangedBuild[] = [];
      try {
        changed = await changedBuilds(compose.pkgdiff, changeSet, repos, revs);
      } catch (err) {
        // The forge could not be asked: the changed packages' tests are an ERROR (fail closed).
        const reason = `cannot tell which packages changed: ${err instanceof Error ? err.message : String(err)}`;
        failures.push({ gitDir: "", component: "changed-packages", namespace: `${settings.namespace}.changed-packages`, commit: "unknown", reason });
        packageTests.push(discoveryCase("changed-packages"));
      }
      for (const build of changed) {
        const gitDir = await this.repoOf(build.name, undefined, failures);
        const found = gitDir === undefined ? undefined : await buildTests(build, gitDir, { gitDir, component: build.name, nvr: build.nvr });
        if (found) buildGroup(build, found.names, found.commit);
        else buildGroup(build, [discoveryCase(build.name)]);
      }
      // A dist-git commit or pull request brings its own tests, at its commit: a maintainer's
      // change to the tests is what runs. They count for the compose gate only (no Koji build
      // to summarize on: the build of a pushed commit comes as a change set of its own).
      for (const r of revs) {
        const gitDir = await this.repoOf(r.name, r.rev, failures);
        if (gitDir === undefined) {
          packageTests.push(discoveryCase(r.name));
          continue;
        }
        const base = { gitDir, component: r.name, ...(r.nvr ? { nvr: r.nvr } : {}) };
        try {
          packageTests.push(...add((await this.lookups.discover({ repo: gitDir, rev: r.rev, package: r.name })).tests, base));
        } catch (err) {
          failures.push({ ...base, namespace: `${settings.namespace}.${slug(r.name)}`, commit: r.rev, reason: `test discovery failed for ${r.name} at ${r.rev.slice(0, 12)}: ${err instanceof Error ? err.message : String(err)}` });
          packageTests.push(discoveryCase(r.name));
        }
      }
      const own = new Set([...changed.map((b) => b.name), ...revs.map((r) => r.name)]);
      if (settings.composeGate.allHostPackages) packageTests.push(...(await this.planWholeHost(compose, repos, own, { planned, failures, add, buildTests, discoveryCase }, context)));
    } else {
      context.log.warn("neither testRunner.distGit.dir nor distGit.url is set: no package tests");
    }
    if (settings.definition.repo) {
      const rev = changeSet?.definition.rev ?? settings.definition.branch;
      let repo = settings.definition.repo;
      let unreadable: string | undefined;
      try {
        repo = await definitionRepoPath(settings.definition.repo, this.deps.definitionRepo, rev);
      } catch (err) {
        unreadable = `the host definition repository cannot be read: ${err instanceof Error ? err.message : String(err)}`;
      }
      const base = { gitDir: repo, component: settings.definition.name, namespace: `${settings.namespace}.${settings.definition.name}` };
      try {
        if (unreadable) throw new Error(unreadable);
        hostTests.push(...add((await discoverHostTests({ repo, rev, name: settings.definition.name }, tools)).tests, base));
      } catch (err) {
        failures.push({ ...base, commit: rev, reason: `host test discovery failed: ${err instanceof Error ? err.message : String(err)}` });
        hostTests.push(discoveryCase(settings.definition.name));
      }
      // Key-container tests (docs/tests.md): host-level, so counted in the host-tests summary.
      const images = { gitDir: repo, component: settings.definition.name, namespace: `${settings.namespace}.${CONTAINER_TEST_PART}` };
      try {
        if (unreadable) throw new Error(unreadable);
        const store = settings.containers.imageStore ? { store: resolve(settings.containers.imageStore) } : {};
        for (const test of (await discoverContainerTests({ repo, rev, name: settings.definition.name, ...store }, tools)).tests) {
          const p: PlannedTest = { ...images, test, type: test.name };
          planned.push(p);
          hostTests.push(testcaseOf(p));
        }
      } catch (err) {
        failures.push({ ...images, commit: rev, reason: `key-container discovery failed: ${err instanceof Error ? err.message : String(err)}` });
        hostTests.push(testcaseOf({ namespace: images.namespace, type: "discovery" }));
      }
    } else {
      context.log.warn("testRunner.definition.repo is not set: no host tests");
    }
    // Builds first, then the compose's package tests, then its host tests: the order tests finish in.
    groups.push({ kind: "package-tests", testcase: composeSummaryTestcase(settings.namespace, "package-tests"), item: compose.commit, testcases: packageTests });
    groups.push({ kind: "host-tests", testcase: composeSummaryTestcase(settings.namespace, "host-tests"), item: compose.commit, testcases: hostTests });
    return { planned, failures, groups };
  }

  /**
   * The compose gate's whole-host set: every host package the compose holds (its lockfile)
   * that is not a changed build, with its dist-git tests at the commit of the version in the
   * compose. A `reused: true` compose takes the set its commit was planned with before (no
   * discovery again; finished tests are settled and not run again). Returns the test case
   * names for the package-tests summary.
   */
  private async planWholeHost(
    compose: ComposeComplete,
    repos: DistGitRepos,
    changed: ReadonlySet<string>,
    plan: {
      planned: PlannedTest[];
      failures: Failure[];
      add: (tests: TestCase[], base: Omit<PlannedTest, "type" | "test" | "namespace">) => string[];
      buildTests: (build: ChangedBuild, gitDir: string, base: Omit<PlannedTest, "type" | "test" | "namespace">) => Promise<{ names: string[] } | undefined>;
      discoveryCase: (component: string) => string;
    },
    context: Pick<HandlerContext, "log">,
  ): Promise<string[]> {
    const names: string[] = [];
    if (compose.reused) {
      const raw = await this.plans.get(planKeys(compose.commit).commit);
      const before = raw === undefined ? undefined : ComposePlan.safeParse(raw);
      if (before?.success) {
        for (const p of before.data.planned) {
          if (p.scope !== "whole-host" || changed.has(p.component)) continue;
          plan.planned.push(p);
          names.push(testcaseOf(p));
        }
        return names;
      }
    }
    let builds: ChangedBuild[];
    try {
      builds = await hostBuilds(compose.lockfile.location, repos);
    } catch (err) {
      const base = { gitDir: "", component: "host-packages", namespace: `${this.deps.settings.namespace}.host-packages` };
      plan.failures.push({ ...base, commit: "unknown", reason: err instanceof Error ? err.message : String(err) });
      return [plan.discoveryCase("host-packages")];
    }
    const started = Date.now();
    for (const build of builds) {
      if (changed.has(build.name)) continue;
      const gitDir = await this.repoOf(build.name, undefined, plan.failures);
      const found = gitDir === undefined ? undefined : await plan.buildTests(build, gitDir, { gitDir, component: build.name, nvr: build.nvr, scope: "whole-host" });
      names.push(...(found ? found.names : [plan.discoveryCase(build.name)]));
    }
    context.log.info({ packages: builds.length - changed.size, tests: names.length, ms: Date.now() - started }, "planned the whole-host test set");
    return names;
  }

  /** A package's dist-git repository (holding `rev`); undefined, with a failure recorded, when there is none or the forge cannot be reached. */
  private async repoOf(name: string, rev: string | undefined, failures: Failure[]): Promise<string | undefined> {
    const found = await distGitRepoOf(this.distGit, name, rev);
    if ("path" in found) return found.path;
    failures.push({ gitDir: "", component: name, namespace: `${this.deps.settings.namespace}.${slug(name)}`, commit: rev ?? "unknown", reason: found.reason });
    return undefined;
  }

  private async settled(commit: string, testcase: string): Promise<boolean> {
    const [latest] = await this.deps.store.latest({ item: [commit], testcases: [testcase] });
    return latest !== undefined && FINAL.has(latest.outcome);
  }

  // ---- summaries, links, publishing ----

  /** Summaries for the gates: re-published whenever their outcome changes (QUEUED first, then final). */
  private async gates(job: Job): Promise<void> {
    for (const group of job.groups) await this.gate(group, this.ctx(job), job.headers);
  }

  /** Publish a group's summary when its outcome differs from the last one stored for this commit. */
  private async gate(group: GateGroup, ctx: CiContext, headers: Record<string, string>): Promise<void> {
    const commit = ctx.compose.commit;
    const latest = new Map<string, ResultsdbResult>();
    if (group.testcases.length > 0) {
      for (const r of await this.deps.store.latest({ item: [commit], testcases: group.testcases })) latest.set(r.testcase.name, r);
    }
    const result = gateResultOf(group, latest, ctx);
    const [previous] = await this.deps.store.latest({ item: [group.item], testcases: [group.testcase], data: { compose: [commit] } });
    // Unchanged: the same outcome (and, once final, the same note naming what failed).
    if (previous?.outcome === result.outcome && (result.outcome === "QUEUED" || result.outcome === "RUNNING" || previous.note === result.note)) return;
    const stored = await this.deps.store.submit(result);
    await this.publish(RESULTSDB_RESULT_NEW_TOPIC, stored, headers);
  }

  private async final(result: ReturnType<typeof resultOf>, headers: Record<string, string>): Promise<ResultsdbResult> {
    const stored = await this.deps.store.submit(result);
    await this.publish(RESULTSDB_RESULT_NEW_TOPIC, stored, headers);
    return stored;
  }

  private links(job: Job, p: PlannedTest, run?: TestRun, rerunnable = true): RunLinks {
    const { dashboardUrl, artifactsUrl, api } = this.deps.settings;
    const testcase = testcaseOf(p);
    const url = new URL(`runs/${encodeURIComponent(job.compose.compose_id)}/${encodeURIComponent(testcase)}`, dashboardUrl).toString();
    const log = run ? new URL(relative(join(this.workDir, "runs"), run.logPath).split("/").map(encodeURIComponent).join("/"), artifactsUrl).toString() : url;
    if (!rerunnable) return { url, log };
    // Fedora CI's rebuild links: GET says what would run, POST runs it again (docs/tests.md, "Retries and re-runs").
    const rerun = new URL(`api/v2.0/reruns?${new URLSearchParams({ compose: job.compose.compose_id, testcase }).toString()}`, api.publicUrl).toString();
    return { url, log, rebuild: rerun, triggerRebuild: rerun };
  }

  private treesFor(repo: string): TreeCache {
    let trees = this.trees.get(repo);
    if (!trees) {
      trees = new TreeCache(repo, join(this.workDir, "trees"), this.deps.tools);
      this.trees.set(repo, trees);
    }
    return trees;
  }

  /** Nobody bound to a topic is not a reason to stop testing: the result is stored and served anyway. */
  private async publish(topic: string, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.deps.bus.publish(topic, body, { headers }).catch((err: unknown) => {
      if (!isBusError(err, "PUBLISH_RETURNED")) throw err;
    });
  }

  private async announce(state: CiTestState, body: unknown, headers: Record<string, string>): Promise<void> {
    await this.publish(ciTestTopic("productmd-compose", state), body, headers);
  }
}

function pick(compose: ComposeComplete): ComposePlan["compose"] {
  return { compose_id: compose.compose_id, commit: compose.commit, os_version: compose.os_version, change_set_id: compose.change_set_id };
}

function rerunOf(request: RerunRequest | undefined): { rerun?: { requestedBy: string; reason: string } } {
  return request ? { rerun: { requestedBy: request.requestedBy, reason: request.reason } } : {};
}
