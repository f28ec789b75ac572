import { defaultConfigOf, defineService, logAndAck, type ServiceDefinition } from "@atomic-ci/runtime";

export const SERVICE_NAME = "trigger-listener";

/** Upstream events that can start a pipeline run. */
export const DEFAULT_BINDINGS: readonly string[] = [
  // Any Fedora environment (prod, stg): the handler decides what concerns the host.
  "org.fedoraproject.*.buildsys.build.state.change",
  "org.fedoraproject.*.buildsys.tag",
  "org.fedoraproject.*.git.receive",
  "org.fedoraproject.*.bodhi.update.#",
  "org.fedoraproject.*.pagure.pull-request.#",
  "org.fedoraproject.*.pungi.compose.status.change",
];

/** The defaults this service puts under its config file and env. */
export const defaultConfig = defaultConfigOf({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS });

/** trigger-listener: filters upstream Fedora events to host packages and groups them into change sets. For now its handler logs and acks. */
export function createTriggerListenerService(): ServiceDefinition {
  return defineService({ name: SERVICE_NAME, bindings: DEFAULT_BINDINGS, handle: logAndAck });
}
