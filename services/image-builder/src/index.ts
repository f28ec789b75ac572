import { defaultConfigOf, defineService, logAndAck, type ServiceDefinition } from "@atomic-ci/runtime";

export const SERVICE_NAME = "image-builder";

/** None yet (the service is ready with nothing to consume); it will bind to the composer's compose-complete messages. */
export const DEFAULT_BINDINGS: readonly string[] = [];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** image-builder: builds qcow2, raw, Vagrant and AWS images of a composed commit. For now its handler logs and acks. */
export function createImageBuilderService(): ServiceDefinition {
  return defineService({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS, handle: logAndAck });
}
