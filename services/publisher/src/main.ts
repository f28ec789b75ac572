// One publisher process: config from ATOMIC_CI_CONFIG and env (docs/config.md), exit codes as fedora-messaging's.
import { runMain } from "@atomic-ci/runtime";
import { createPublisherService } from "./index.js";

// The entry point hands its environment to the tools the publisher drives (PATH for ostree, gpg, xz, git).
// eslint-disable-next-line no-restricted-properties -- the process entry point is where the environment comes in
await runMain(createPublisherService({ env: process.env }));
