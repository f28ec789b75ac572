// The fixture world's library surface: build (or find in the cache) a miniature Fedora Atomic
// Host with real RPMs, yum repositories, dist-git and host-definition repositories, and
// produce real-shaped messages about it. See docs/fixture-world.md.

export { buildFixtureWorld, type BuildFixtureWorldOptions, type FixtureWorld } from "./world.js";
export {
  findBuild,
  latestBuild,
  loadWorld,
  type World,
  type WorldBuild,
  type WorldHostDefinition,
  type WorldRepo,
  type WorldRpm,
  type WorldSynthetic,
} from "./manifest.js";
export { CANDIDATE_TAG, gitReceive, KOJI_URL, kojiBuildComplete, kojiTag, type FixtureMessage } from "./messages.js";
export { DIST_GIT_BRANCH, DIST_GIT_URL, PACKAGE_TEST_CASE } from "./distgit.js";
export { BUILD_HOST, BUILD_MACROS } from "./rpms.js";
export { COMPOSE_TEST_CASES, HOST_DEFINITION_NAME, IMAGE_TEST_CASES } from "./hostdef.js";
export { HOST_PACKAGES, hostPackageNames } from "./catalog/index.js";
export { BOOT_MODULES, EXTRA_MODULES } from "./kernel/modules.js";
export { DEFAULT_CACHE_DIR } from "./cache.js";
export { writeContainerImages, type WorldContainers, type WorldImage } from "./containers-oci.js";
export type { Breakage, RepoName, TestsKind } from "./model.js";
export { pipelineOverrides, pipelinePerService, type PipelineConfigOptions } from "./pipeline-config.js";
