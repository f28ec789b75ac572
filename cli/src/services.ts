import { createComposerService } from "@atomic-ci/composer";
import { createGatekeeperService } from "@atomic-ci/gatekeeper";
import { createImageBuilderService } from "@atomic-ci/image-builder";
import { createPublisherService } from "@atomic-ci/publisher";
import type { ServiceDefinition } from "@atomic-ci/runtime";
import { createTestRunnerService } from "@atomic-ci/test-runner";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";

/** The six services in pipeline order (upstream first: the order they start and stop in). */
export const SERVICES: Readonly<Record<string, () => ServiceDefinition>> = {
  "trigger-listener": createTriggerListenerService,
  composer: createComposerService,
  "image-builder": createImageBuilderService,
  "test-runner": createTestRunnerService,
  gatekeeper: createGatekeeperService,
  publisher: createPublisherService,
};

export const SERVICE_NAMES = Object.keys(SERVICES);
