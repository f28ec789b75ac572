import { runMain, runServices, ExitCode } from "@atomic-ci/runtime";
import { UsageError } from "../errors.js";
import { SERVICE_NAMES, SERVICES, type ProcessEnv } from "../services.js";

/**
 * `serve NAME...`: run services from their configuration (ATOMIC_CI_* env, YAML file). One
 * name is the deployed form (one process per service); several, or `all`, share a process
 * and, with no broker configured, its in-memory bus.
 */
export async function serveCommand(names: string[], env: ProcessEnv): Promise<number> {
  const wanted = names.includes("all") ? SERVICE_NAMES : names;
  const unknown = wanted.filter((n) => !(n in SERVICES));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new UsageError(`unknown service ${unknown.join(", ") || "(none given)"}; choose from ${SERVICE_NAMES.join(", ")} or all`);
  }
  const definitions = wanted.map((n) => (SERVICES[n] as (typeof SERVICES)[string])(env));
  const config = { env };
  const [only] = definitions;
  if (definitions.length === 1 && only) {
    await runMain(only, { config });
    return ExitCode.OK;
  }
  const group = await runServices(definitions, { handleSignals: true, config });
  return (await group.stopped).exitCode;
}
