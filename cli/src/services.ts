import { createComposerService } from "@atomic-ci/composer";
import { createDashboardService } from "@atomic-ci/dashboard";
import { createGatekeeperService } from "@atomic-ci/gatekeeper";
import { createImageBuilderService } from "@atomic-ci/image-builder";
import { createPublisherService } from "@atomic-ci/publisher";
import type { ServiceDefinition } from "@atomic-ci/runtime";
import { createTestRunnerService } from "@atomic-ci/test-runner";
import { createTriggerListenerService } from "@atomic-ci/trigger-listener";

/** The process environment, handed to services that drive external tools (PATH for git, dnf, ostree). */
export type ProcessEnv = Readonly<Record<string, string | undefined>>;

/** The six services in pipeline order (upstream first: the order they start and stop in), then the dashboard. */
export const SERVICES: Readonly<Record<string, (env: ProcessEnv) => ServiceDefinition>> = {
  "trigger-listener": () => createTriggerListenerService(),
  composer: (env) => createComposerService({ env }),
  "image-builder": (env) => createImageBuilderService({ env }),
  "test-runner": (env) => createTestRunnerService({ env }),
  gatekeeper: (env) => createGatekeeperService({ env }),
  publisher: (env) => createPublisherService({ env }),
  // Not a pipeline stage: a read-only view of the bus (docs/dashboard.md); last, so it stops last and sees everything.
  dashboard: () => createDashboardService(),
};

export const SERVICE_NAMES = Object.keys(SERVICES);
