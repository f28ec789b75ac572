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
export { CGROUP_PARENT, DEFAULT_PIDS_MAX, LimitError, pidsLimiter, SandboxCgroup, type PidsLimiter, type ProcessLimitOptions } from "./run/limits.js";
export { parseChecks, verdict, type Check } from "./run/verdict.js";
export type { Attempt, Outcome } from "./run/attempt.js";
export { DEFAULT_ERROR_RETRIES, DEFAULT_MAX_OUTPUT_BYTES, runTest, type RunTestOptions, type TestRun } from "./run/runner.js";
export * from "./results/index.js";
export {
  CONTAINER_TEST_PART,
  CONTAINERS_FILE,
  containersFileSchema,
  DEFAULT_CONTAINER_TIMEOUT_MS,
  discoverContainerTests,
  isContainerTest,
  parseContainers,
  type ContainerImageSpec,
  type ContainersFile,
  type ContainerTestCase,
} from "./discover/containers.js";
export { blobPath, ImageError, MEDIA as OCI_MEDIA_TYPES, ociArchitecture, REF_ANNOTATION, verifyLayout, type ImageSelector, type VerifiedImage } from "./run/container-oci.js";
export { DEFAULT_UNPACK_LIMITS, unpackImage, type UnpackLimits, type UnpackReport } from "./run/container-unpack.js";
export { containerBwrapArgs, resolveProcess, type ContainerProcess } from "./run/container-sandbox.js";
export { runAnyTest, runContainerTest, type ContainerRunOptions } from "./run/container.js";
