import { commonConfigSchema, mirroredDistGitKeys } from "@atomic-ci/runtime";
import { z } from "zod";

const baseUrl = z.url().describe("must be an http(s) URL");

/** The `testRunner` section: where tests run, where their logs are served, how results are named. */
export const testRunnerConfigSchema = commonConfigSchema.extend({
  testRunner: z
    .strictObject({
      workDir: z.string().min(1).default(".cache/test-runner/work").describe("Scratch space: tree checkouts (trees/) and test runs with their artifacts (runs/)"),
      errorRetries: z.int().min(0).max(10).default(2).describe("Automatic retries of a test that ended in an error (the runner's failure)"),
      namespace: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "must be dot-separated words").default("atomic-ci").describe("First part of every test case name"),
      basearch: z.string().regex(/^[a-z0-9_]+$/).default("x86_64").describe("Architecture of the composes tested"),
      dashboardUrl: baseUrl.default("http://localhost:8081/").describe("Base of the Fedora CI `run.url` of each test"),
      artifactsUrl: baseUrl.default("http://localhost:8081/artifacts/").describe("Base URL under which workDir/runs is served (logs: `run.log`, `output_urls`)"),
      definition: z
        .strictObject({
          repo: z.string().min(1).optional().describe("Host definition git repository: a local path, or a remote URL mirrored under mirrorDir (fetched at most every refreshSeconds, and at once for a definition commit it lacks); no host tests without it"),
          mirrorDir: z.string().min(1).default(".cache/test-runner/mirrors").describe("Where a remote definition repository is mirrored (local to the process is best: replicas sharing it fetch in turn)"),
          branch: z.string().min(1).default("f41").describe("Branch whose head is tested when the change set named no definition commit"),
          refreshSeconds: z.int().min(1).default(60).describe("With a remote repo: how old the mirror may get before a read fetches"),
          name: z.string().regex(/^[A-Za-z0-9_-]+$/).default("host").describe("Second part of the host tests' test case names"),
        })
        .prefault({}),
      containers: z
        .strictObject({
          imageStore: z.string().min(1).optional().describe("Root of the OCI image layouts the definition's containers.yaml names (its `layout` paths are relative to it and confined to it); key-container tests error without it"),
        })
        .prefault({})
        .describe("Key-container tests (docs/tests.md, \"Key-container tests\")"),
      distGit: z
        .strictObject({
          dir: z.string().min(1).optional().describe("Directory holding one dist-git repository per source package (`<dir>/<name>`); no package tests without it or url"),
          ...mirroredDistGitKeys(".cache/test-runner/dist-git"),
          branch: z.string().min(1).default("f41").describe("The release branch builds are made from: a build's commit is the newest one on it whose spec has the build's version and release"),
        })
        .prefault({}),
      gate: z
        .strictObject({
          buildTestCase: z
            .string()
            .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/, "must be a dotted test case name")
            .default("fedora-ci.koji-build.tier0.functional")
            .describe("Test case of the per-build summary (koji_build, item = NVR) that gating.yaml files require"),
        })
        .prefault({})
        .describe("Summary results the gates read (docs/gating.md, \"Results the gates read\")"),
      contact: z
        .strictObject({
          name: z.string().min(1).default("atomic-ci test-runner"),
          team: z.string().min(1).default("Atomic Host"),
          docs: baseUrl.default("https://atomic-ci.invalid/docs/tests.md"),
          email: z.string().regex(/^[^@\s]+@[^@\s]+$/).default("atomic-ci@atomic-ci.invalid"),
        })
        .prefault({}),
      image: z
        .strictObject({
          bootTimeoutMs: z.int().min(1000).default(300_000).describe("Limit of one boot of a qcow2 (QEMU under TCG) until its tests start; then the tests' own limits (summed, plus 60 s) apply"),
          memoryMiB: z.int().min(256).default(1024).describe("Guest memory of the boot test"),
        })
        .prefault({})
        .describe("Tests in the booted image (docs/tests.md, \"Tests in the booted image\")"),
      api: z
        .strictObject({
          host: z.string().min(1).default("0.0.0.0").describe("Address of the ResultsDB-style results API"),
          port: z.int().min(0).max(65_535).default(8082).describe("Port of the results API (8081 is the gatekeeper's); 0 picks a free one"),
          publicUrl: baseUrl
            .default("http://localhost:8082/")
            .describe("Base URL others reach the results API at: `run.rebuild` and `run.trigger_rebuild` of the Fedora CI messages point below it (`api/v2.0/reruns?...`)"),
        })
        .prefault({}),
      results: z
        .strictObject({
          redisPrefix: z.string().min(1).default("atomic-ci:results").describe("Key prefix of the results (and the plans kept for re-runs) in Redis, used when `redis.url` is set; in memory otherwise"),
        })
        .prefault({}),
      limits: z
        .strictObject({
          pidsMax: z.int().min(8).max(1_000_000).default(256).describe("Processes one test's sandbox may have at once (a pids cgroup; docs/tests.md, \"Limits\")"),
          mode: z.enum(["auto", "cgroup-v1", "cgroup-v2", "rlimit", "none"]).default("auto").describe("How: `auto` tries cgroup v1, cgroup v2, then prlimit --nproc"),
          maxOutputBytes: z.int().min(1024).default(10 * 1024 * 1024).describe("Cap on a test's stdout+stderr; past it the test is stopped and failed"),
        })
        .prefault({}),
      composeGate: z
        .strictObject({
          allHostPackages: z
            .boolean()
            .default(true)
            .describe("Also run, on every new commit, the dist-git tests of every host package (not only the changed ones), reported under the compose's package-tests summary"),
        })
        .prefault({})
        .describe("What the compose gate covers (docs/tests.md, \"The whole-host test set\")"),
    })
    .prefault({}),
});

export type TestRunnerConfig = z.output<typeof testRunnerConfigSchema>;
export type TestRunnerSection = TestRunnerConfig["testRunner"];
