import { defaultConfigOf, defineService, logAndAck, type ServiceDefinition } from "@atomic-ci/runtime";

export const SERVICE_NAME = "composer";

/** None yet (the service is ready with nothing to consume); it will bind to trigger-listener's change-set messages. */
export const DEFAULT_BINDINGS: readonly string[] = [];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** composer: composes a change set into an OSTree commit of the host. For now its handler logs and acks. */
export function createComposerService(): ServiceDefinition {
  return defineService({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS, handle: logAndAck });
}
