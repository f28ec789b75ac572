// One dashboard process: config from ATOMIC_CI_CONFIG and env (docs/config.md), exit codes as fedora-messaging's.
import { runMain } from "@atomic-ci/runtime";
import { createDashboardService } from "./index.js";

await runMain(createDashboardService());
