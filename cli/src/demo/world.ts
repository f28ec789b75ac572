// The demo runs over the fixture world (a real miniature Atomic Host with RPM repositories and
// a host definition in git). The CLI reaches it through this one module.
export { buildFixtureWorld, findBuild, kojiBuildComplete, pipelinePerService, type FixtureWorld } from "@atomic-ci/fixture-world";
