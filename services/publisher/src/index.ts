import { defaultConfigOf, defineService, logAndAck, type ServiceDefinition } from "@atomic-ci/runtime";

export const SERVICE_NAME = "publisher";

/** None yet (the service is ready with nothing to consume); it will bind to the gatekeeper's decisions. */
export const DEFAULT_BINDINGS: readonly string[] = [];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** publisher: promotes gated commits and images to users under the delivery policy. For now its handler logs and acks. */
export function createPublisherService(): ServiceDefinition {
  return defineService({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS, handle: logAndAck });
}
