// One test-runner process: config from ATOMIC_CI_CONFIG and env (docs/config.md), exit codes as fedora-messaging's.
import { runMain } from "@atomic-ci/runtime";
import { createTestRunnerService } from "./index.js";

await runMain(createTestRunnerService());
