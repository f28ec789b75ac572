// One gatekeeper process: config from ATOMIC_CI_CONFIG and env (docs/config.md), exit codes as fedora-messaging's.
import { runMain } from "@atomic-ci/runtime";
import { createGatekeeperService } from "./index.js";

await runMain(createGatekeeperService());
