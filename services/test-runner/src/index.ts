import { defaultConfigOf, defineService, logAndAck, type ServiceDefinition } from "@atomic-ci/runtime";

export const SERVICE_NAME = "test-runner";

/** None yet (the service is ready with nothing to consume); it will bind to the image-builder's image-complete messages. */
export const DEFAULT_BINDINGS: readonly string[] = [];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** test-runner: runs package, host and container tests against the built artifacts. For now its handler logs and acks. */
export function createTestRunnerService(): ServiceDefinition {
  return defineService({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS, handle: logAndAck });
}
