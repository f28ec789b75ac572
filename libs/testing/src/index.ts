// The public surface of @atomic-ci/testing: discover a package's (or the host definition's)
// tests at a commit, and run them on a composed tree in a bubblewrap sandbox. See docs/tests.md.
export { DEFAULT_TIMEOUT_MS, DiscoveryError, type TestCase, type TestSource } from "./model.js";
export { discoverHostTests, discoverPackageTests, type Discovery } from "./discover/index.js";
export { parseSti, HOST_TAG, type StiDiscovery } from "./discover/sti.js";
export { parseTmt, RERUNS_KEY } from "./discover/tmt.js";
export { fmfLeaves, type FmfNode } from "./discover/fmf.js";
export { parseDuration } from "./discover/duration.js";
export { TreeCache } from "./run/checkout.js";
export { bwrapArgs, SANDBOX_ARTIFACTS, SANDBOX_TEST_DIR } from "./run/sandbox.js";
export { parseChecks, verdict, type Check } from "./run/verdict.js";
export type { Attempt, Outcome } from "./run/attempt.js";
export { DEFAULT_ERROR_RETRIES, DEFAULT_MAX_OUTPUT_BYTES, runTest, type RunTestOptions, type TestRun } from "./run/runner.js";
export * from "./results/index.js";
