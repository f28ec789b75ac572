// One test-runner process: config from ATOMIC_CI_CONFIG and env (docs/config.md), exit codes as fedora-messaging's.
import { runMain } from "@atomic-ci/runtime";
import { createTestRunnerService } from "./index.js";

// The entry point hands its environment to the tools the runner drives (PATH for git, ostree, bwrap).
// eslint-disable-next-line no-restricted-properties -- the process entry point is where the environment comes in
await runMain(createTestRunnerService({ env: process.env }));
