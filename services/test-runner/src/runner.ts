// The test-runner's adapter: a compose in, Fedora CI test messages and ResultsDB results out.
// Discovery and the sandbox are @atomic-ci/testing's; this file decides what to test on a
// compose, names the results, and publishes.
import { join, relative, resolve } from "node:path";
import { isBusError, Outcomes, type Bus, type BusMessage, type HandlerContext, type Outcome } from "@atomic-ci/bus";
import {
  ChangeSetQueued,
  ciTestTopic,
  ComposeComplete,
  RESULTSDB_RESULT_NEW_TOPIC,
  type CiTestState,
  type ResultsdbResult,
} from "@atomic-ci/messages";
import { discoverHostTests, discoverPackageTests, runTest, TreeCache, type ResultsStore, type TestCase, type TestRun } from "@atomic-ci/testing";
import type { ToolContext } from "@atomic-ci/tools";
import type { TestRunnerSection } from "./config.js";
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
import { buildCommit, changedBuilds } from "./resolve.js";

export interface TestRunnerDeps {
  bus: Pick<Bus, "publish">;
  settings: TestRunnerSection;
  store: ResultsStore;
  tools: ToolContext;
  now: () => Date;
  /** The sandbox runner; replaceable in unit tests. */
  runTest?: typeof runTest;
}

/** Outcomes that settle a test on a commit: a repeat of the compose does not run it again. */
const FINAL = new Set(["PASSED", "FAILED", "INFO", "NEEDS_INSPECTION"]);
/** Change sets remembered for their members and definition commit. */
const CHANGE_SETS_KEPT = 1000;

export class TestRunner {
  private readonly workDir: string;
  private readonly trees = new Map<string, TreeCache>();
  private readonly changeSets = new Map<string, ChangeSetQueued>();

  constructor(private readonly deps: TestRunnerDeps) {
    this.workDir = resolve(deps.settings.workDir);
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
    const compose = ComposeComplete.parse(message.body);
    context.setChangeSet(compose.change_set_id);
    await this.testCompose(compose, context);
    return Outcomes.ack();
  }

  /** Every test of the compose's changed packages and of the host, each once per commit. */
  async testCompose(compose: ComposeComplete, context: Pick<HandlerContext, "log">): Promise<void> {
    const ctx = (): CiContext => ({ compose, contact: this.deps.settings.contact, basearch: this.deps.settings.basearch, now: this.deps.now() });
    const headers = { atomic_ci_change_set: compose.change_set_id };
    const { planned, failures, groups } = await this.plan(compose, context);
    // Summaries for the gates: re-published whenever their outcome changes (QUEUED first, then final).
    const gates = async () => {
      for (const group of groups) await this.gate(group, ctx(), headers);
    };

    for (const failure of failures) {
      // A test that could not even be discovered is the runner's problem for that component: an error result.
      const pseudo: PlannedTest = { ...failure, type: "discovery", test: { id: `${failure.component}/discovery`, package: failure.component, source: "host", name: "discovery", dir: ".", command: [], requires: [], timeoutMs: 0, allowedReruns: 0, environment: {}, commit: failure.commit, file: "" } };
      if (await this.settled(compose.commit, testcaseOf(pseudo))) continue;
      const links = this.links(compose, pseudo);
      await this.publish(ciTestTopic("productmd-compose", "error"), errorBody(pseudo, failure.reason, links, ctx()), headers);
      await this.final(resultOf(pseudo, "ERROR", ctx(), { note: failure.reason }), headers);
    }

    const todo: PlannedTest[] = [];
    for (const p of planned) if (!(await this.settled(compose.commit, testcaseOf(p)))) todo.push(p);
    context.log.info({ commit: compose.commit, tests: todo.map(testcaseOf), already: planned.length - todo.length }, "testing compose");
    for (const p of todo) {
      await this.announce("queued", queuedBody(p, this.links(compose, p), ctx()), headers);
      await this.deps.store.submit(resultOf(p, "QUEUED", ctx()));
    }
    await gates();
    const trees = this.treesFor(compose.repo.location);
    for (const p of todo) {
      await this.announce("running", queuedBody(p, this.links(compose, p), ctx()), headers);
      await this.deps.store.submit(resultOf(p, "RUNNING", ctx()));
      let run: TestRun;
      try {
        run = await (this.deps.runTest ?? runTest)(p.test, { trees, subject: compose.commit, gitDir: p.gitDir, workDir: join(this.workDir, "runs", compose.compose_id), errorRetries: this.deps.settings.errorRetries }, this.deps.tools);
      } catch (err) {
        const reason = `runner failed: ${err instanceof Error ? err.message : String(err)}`;
        await this.publish(ciTestTopic("productmd-compose", "error"), errorBody(p, reason, this.links(compose, p), ctx()), headers);
        await this.final(resultOf(p, "ERROR", ctx(), { note: reason }), headers);
        await gates();
        continue;
      }
      const links = this.links(compose, p, run);
      context.log.info({ testcase: testcaseOf(p), outcome: run.outcome, reason: run.reason, attempts: run.attempts.length }, "test finished");
      if (run.outcome === "error") {
        const reason = run.reason ?? "the runner failed";
        await this.publish(ciTestTopic("productmd-compose", "error"), errorBody(p, reason, links, ctx()), headers);
        await this.final(resultOf(p, "ERROR", ctx(), { note: reason, refUrl: links.log }), headers);
      } else {
        await this.publish(ciTestTopic("productmd-compose", "complete"), completeBody(p, run, { ...links, outputUrls: [links.log] }, ctx()), headers);
        await this.final(resultOf(p, outcomeOf(run), ctx(), { note: run.reason ?? "", refUrl: links.log, passedOnRerun: run.passedOnRerun }), headers);
      }
      await gates();
    }
    // Nothing left to run (a repeated commit): the summaries still say where the commit stands.
    if (todo.length === 0) await gates();
  }

  /** The tests to run: each changed build's dist-git tests at its commit, and the host's tests. */
  private async plan(
    compose: ComposeComplete,
    context: Pick<HandlerContext, "log">,
  ): Promise<{ planned: PlannedTest[]; failures: (Omit<PlannedTest, "type" | "test"> & { reason: string; commit: string })[]; groups: GateGroup[] }> {
    const { settings, tools } = this.deps;
    const planned: PlannedTest[] = [];
    const failures: (Omit<PlannedTest, "type" | "test"> & { reason: string; commit: string })[] = [];
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
    const distGitDir = settings.distGit.dir ? resolve(settings.distGit.dir) : undefined;
    if (distGitDir) {
      for (const build of changedBuilds(compose.pkgdiff, changeSet, distGitDir)) {
        const gitDir = join(distGitDir, build.name);
        const base = { gitDir, component: build.name, nvr: build.nvr, namespace: `${settings.namespace}.${slug(build.name)}` };
        try {
          const commit = await buildCommit(gitDir, build, tools);
          if (!commit) {
            failures.push({ ...base, commit: "unknown", reason: `no commit of ${build.name}'s dist-git has the spec of ${build.nvr}` });
            buildGroup(build, [discoveryCase(build.name)]);
            continue;
          }
          buildGroup(build, add((await discoverPackageTests({ repo: gitDir, rev: commit, package: build.name }, tools)).tests, base), commit);
        } catch (err) {
          failures.push({ ...base, commit: "unknown", reason: `test discovery failed for ${build.nvr}: ${err instanceof Error ? err.message : String(err)}` });
          buildGroup(build, [discoveryCase(build.name)]);
        }
      }
    } else {
      context.log.warn("testRunner.distGit.dir is not set: no package tests");
    }
    if (settings.definition.repo) {
      const repo = resolve(settings.definition.repo);
      const rev = changeSet?.definition.rev ?? settings.definition.branch;
      const base = { gitDir: repo, component: settings.definition.name, namespace: `${settings.namespace}.${settings.definition.name}` };
      try {
        hostTests.push(...add((await discoverHostTests({ repo, rev, name: settings.definition.name }, tools)).tests, base));
      } catch (err) {
        failures.push({ ...base, commit: rev, reason: `host test discovery failed: ${err instanceof Error ? err.message : String(err)}` });
        hostTests.push(discoveryCase(settings.definition.name));
      }
    } else {
      context.log.warn("testRunner.definition.repo is not set: no host tests");
    }
    // Builds first, then the compose's package tests, then its host tests: the order tests finish in.
    groups.push({ kind: "package-tests", testcase: composeSummaryTestcase(settings.namespace, "package-tests"), item: compose.commit, testcases: packageTests });
    groups.push({ kind: "host-tests", testcase: composeSummaryTestcase(settings.namespace, "host-tests"), item: compose.commit, testcases: hostTests });
    return { planned, failures, groups };
  }

  private async settled(commit: string, testcase: string): Promise<boolean> {
    const [latest] = await this.deps.store.latest({ item: [commit], testcases: [testcase] });
    return latest !== undefined && FINAL.has(latest.outcome);
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

  private links(compose: ComposeComplete, p: PlannedTest, run?: TestRun): RunLinks {
    const { dashboardUrl, artifactsUrl } = this.deps.settings;
    const url = new URL(`runs/${encodeURIComponent(compose.compose_id)}/${encodeURIComponent(testcaseOf(p))}`, dashboardUrl).toString();
    const log = run ? new URL(relative(join(this.workDir, "runs"), run.logPath).split("/").map(encodeURIComponent).join("/"), artifactsUrl).toString() : url;
    return { url, log };
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
