// One gatekeeper process: config from ATOMIC_CI_CONFIG and env (docs/config.md), exit codes as fedora-messaging's.
import { runMain } from "@atomic-ci/runtime";
import { createGatekeeperService } from "./index.js";

// The entry point hands its environment to git (PATH), which reads gating.yaml from dist-git.
// eslint-disable-next-line no-restricted-properties -- the process entry point is where the environment comes in
await runMain(createGatekeeperService({ env: process.env }));
