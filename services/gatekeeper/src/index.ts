import { defaultConfigOf, defineService, logAndAck, type ServiceDefinition } from "@atomic-ci/runtime";

export const SERVICE_NAME = "gatekeeper";

/** None yet (the service is ready with nothing to consume); it will bind to the Fedora CI test results and waivers. */
export const DEFAULT_BINDINGS: readonly string[] = [];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** gatekeeper: decides from test results, policies and waivers whether a change passes the gate. For now its handler logs and acks. */
export function createGatekeeperService(): ServiceDefinition {
  return defineService({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS, handle: logAndAck });
}
