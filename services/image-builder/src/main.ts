// One image-builder process: config from ATOMIC_CI_CONFIG and env (docs/config.md), exit codes as fedora-messaging's.
import { runMain } from "@atomic-ci/runtime";
import { createImageBuilderService } from "./index.js";

// The entry point hands its environment to the tools the builder drives (PATH for ostree, mkfs.ext4, qemu-img).
// eslint-disable-next-line no-restricted-properties -- the process entry point is where the environment comes in
await runMain(createImageBuilderService({ env: process.env }));
