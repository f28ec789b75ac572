#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { validateCommand } from "./commands/validate.js";
import { publishCommand } from "./commands/publish.js";
import { tailCommand } from "./commands/tail.js";
import { serveCommand } from "./commands/serve.js";
import { DEFAULT_WAIT_SECONDS, requestCommand } from "./commands/request.js";
import type { ProgressSettings } from "./progress.js";
import { releaseRequestCommand } from "./commands/hold.js";
import { rollbackCommand } from "./commands/rollback.js";
import { DEFAULT_TOPIC_PREFIX } from "@atomic-ci/runtime";
import { pinCommand, unpinCommand } from "./commands/pin.js";
import { waiveCommand } from "./commands/waive.js";
import { coverageCommand } from "./commands/coverage.js";
import { statusCommand } from "./commands/status.js";
import { EXIT, UsageError } from "./errors.js";

/** Environment the CLI reads, in one place. */
const AMQP_URL = process.env["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
/** The host definition repository `pin`/`unpin` edit when --definition is not given. */
const DEFINITION = process.env["ATOMIC_CI_DEFINITION"];
/** The gatekeeper `waive` talks to when --url is not given. */
const GATEKEEPER_URL = process.env["ATOMIC_CI_GATEKEEPER_URL"];
/** The test-runner's results API and the dashboard `status` reads when --results / --dashboard are not given. */
const RESULTS_URL = process.env["ATOMIC_CI_RESULTS_URL"];
const DASHBOARD_URL = process.env["ATOMIC_CI_DASHBOARD_URL"];
/** CI systems set CI (to true, or a name): their logs get plain progress lines, never a bar. */
const CI = process.env["CI"] !== undefined && !["", "0", "false"].includes(process.env["CI"].toLowerCase());
/** Handed to the tools the CLI and the in-process services run (git, dnf, ostree need PATH). */
const TOOL_ENV = process.env;

/** Progress of long steps goes to stderr: a bar at a terminal, plain lines otherwise (cli/src/progress.ts). */
function progressSettings(json: boolean): ProgressSettings {
  return { stream: process.stderr, json, ci: CI };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function definitionOf(opts: { definition?: string }): { definition?: string } {
  const definition = opts.definition ?? DEFINITION;
  return definition === undefined ? {} : { definition };
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("atomic-ci")
    .description("Deliver Fedora Atomic Host through CI/CD: tools for operators and developers")
    .exitOverride()
    .showHelpAfterError();

  const messages = program.command("messages").description("validate, publish and watch fedora-messaging messages");

  messages
    .command("validate")
    .description("check a message file against the schema for its topic (exit 0 valid, 1 invalid, 2 usage)")
    .argument("<file>", "a bare body (needs --topic), a fedora-messaging dump or a fedmsg envelope")
    .option("--topic <topic>", "topic of a bare body (overrides the file's topic)")
    .option("--json", "print the result as JSON")
    .action(async (file: string, opts: { topic?: string; json?: boolean }) => {
      setExit(await validateCommand({ file, ...opts }));
    });

  messages
    .command("publish")
    .description("publish FILE's body to the broker at $AMQP_URL, waiting for the confirm")
    .argument("<file>", "message file (any shape validate accepts)")
    .requiredOption("--topic <topic>", "topic, without prefix")
    .option("--prefix <prefix>", "topic prefix, e.g. org.fedoraproject.prod")
    .addOption(new Option("--severity <level>", "fedora-messaging severity").choices(["10", "20", "30", "40"]).argParser(Number))
    .option("--json", "print {id, routing_key, schema, broker} as JSON")
    .action(async (file: string, opts: { topic: string; prefix?: string; severity?: number; json?: boolean }) => {
      setExit(await publishCommand({ file, ...opts, amqpUrl: AMQP_URL }));
    });

  messages
    .command("tail")
    .description("print messages matching the bindings as JSON lines")
    .option("--bind <key>", "routing key pattern to bind (repeatable, at least one)", collect)
    .option("--count <n>", "exit after N messages", positiveInt)
    .option("--exchange <name>", "exchange", "amq.topic")
    .action(async (opts: { bind?: string[]; count?: number; exchange: string }) => {
      if (!opts.bind?.length) throw new UsageError("messages tail needs at least one --bind KEY");
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      setExit(
        await tailCommand(
          { bindings: opts.bind, exchange: opts.exchange, amqpUrl: AMQP_URL, maxBodyBytes: 1024 * 1024, ...(opts.count !== undefined ? { count: opts.count } : {}) },
          abort.signal,
        ),
      );
    });

  program
    .command("demo")
    .description("run the pipeline on the fixture world (embedded bus, or one process per service with --bus amqp): composes, gates, delivery")
    .option("--json", "end with one JSON line summarising what was composed")
    .addOption(new Option("--bus <bus>", "memory: every service in this process; amqp: one process per service on RabbitMQ and Redis").choices(["memory", "amqp"]).default("memory"))
    .option("--amqp-url <url>", "with --bus amqp: the broker (default $AMQP_URL, else amqp://guest:guest@127.0.0.1:5672)")
    .option("--redis-url <url>", "with --bus amqp: Redis for idempotency and state (default $REDIS_URL, else redis://127.0.0.1:6379)")
    .action(async (opts: { json?: boolean; bus: "memory" | "amqp"; amqpUrl?: string; redisUrl?: string }) => {
      // Loaded on demand: the demo pulls in the fixture world, which deployed services never need.
      const { demoCommand } = await import("./commands/demo.js");
      const amqpUrl = opts.amqpUrl ?? process.env["AMQP_URL"];
      const redisUrl = opts.redisUrl ?? process.env["REDIS_URL"];
      setExit(await demoCommand({ json: opts.json === true, env: TOOL_ENV, bus: opts.bus, progress: progressSettings(opts.json === true), ...(amqpUrl ? { amqpUrl } : {}), ...(redisUrl ? { redisUrl } : {}) }));
    });

  const request = program.command("request").description("ask the pipeline for something now (published to $AMQP_URL as pipeline.operator.request)");
  const prefixOption = () => new Option("--prefix <prefix>", "topic prefix of the deployment").default(DEFAULT_TOPIC_PREFIX);
  // --wait: follow the request on the bus (cli/src/follow.ts); --wait-for implies it.
  const waitOptions = (c: Command) =>
    c
      .option("--wait", "follow what the pipeline does with the request, with progress on stderr, until the compose gate decides (exit 0 passed, 1 ignored, compose error, gate failed or timeout)")
      .addOption(new Option("--wait-for <stage>", "wait until `gate` (the compose gate decides; what --wait alone does) or `delivered` (a stream has the release; image errors and the image gate can fail it too); implies --wait").choices(["gate", "delivered"]))
      .option("--timeout <seconds>", "with --wait: give up after this many seconds (exit 1)", positiveInt, DEFAULT_WAIT_SECONDS)
      .option("--gatekeeper <url>", "with --wait: the gatekeeper, asked for the gate's decision when the compose reuses an earlier commit (default $ATOMIC_CI_GATEKEEPER_URL)")
      .option("--product-version <pv>", "with --wait: product version of that decision", "fedora-41");
  interface WaitOpts {
    wait?: boolean;
    waitFor?: "gate" | "delivered";
    timeout: number;
    gatekeeper?: string;
    productVersion: string;
    json?: boolean;
  }
  const waitArgs = (opts: WaitOpts) => {
    const wait = opts.waitFor ?? (opts.wait ? "gate" : undefined);
    if (wait === undefined) return { json: opts.json === true };
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());
    process.once("SIGTERM", () => abort.abort());
    const gatekeeper = opts.gatekeeper ?? GATEKEEPER_URL;
    return {
      json: opts.json === true,
      wait,
      timeoutSeconds: opts.timeout,
      signal: abort.signal,
      progress: progressSettings(opts.json === true),
      productVersion: opts.productVersion,
      ...(gatekeeper === undefined ? {} : { gatekeeper }),
    };
  };
  waitOptions(
    request
      .command("compose")
      .description("compose the host definition now")
      .requiredOption("--reason <text>", "why (free text or a ticket URL)")
      .option("--package <name>", "host package the compose is about (repeatable)", collect)
      .option("--by <user>", "operator account (default: the local user)")
      .addOption(prefixOption())
      .option("--json", "print {action, id, routing_key, broker} (with --wait: and the outcome) as one JSON object"),
  ).action(async (opts: { reason: string; package?: string[]; by?: string; prefix: string } & WaitOpts) => {
    setExit(await requestCommand({ action: "compose", reason: opts.reason, prefix: opts.prefix, amqpUrl: AMQP_URL, ...waitArgs(opts), ...(opts.package ? { packages: opts.package } : {}), ...(opts.by ? { by: opts.by } : {}) }));
  });
  waitOptions(
    request
      .command("rerun")
      .description("run a change set again (e.g. after an infrastructure failure, instead of waiving it)")
      .argument("<change-set>", "change set id (cs-...)")
      .requiredOption("--reason <text>", "why (free text or a ticket URL)")
      .option("--by <user>", "operator account (default: the local user)")
      .addOption(prefixOption())
      .option("--json", "print {action, id, routing_key, broker} (with --wait: and the outcome) as one JSON object"),
  ).action(async (changeSet: string, opts: { reason: string; by?: string; prefix: string } & WaitOpts) => {
    setExit(await requestCommand({ action: "rerun", changeSet, reason: opts.reason, prefix: opts.prefix, amqpUrl: AMQP_URL, ...waitArgs(opts), ...(opts.by ? { by: opts.by } : {}) }));
  });
  request
    .command("rerun-test")
    .description("run one test again on the commit it ran on (e.g. after an infrastructure failure, instead of waiving it); the gates re-decide on the new result")
    .requiredOption("--compose <commit|compose-id>", "OSTree commit or compose id the test ran on")
    .requiredOption("--test <testcase>", "ResultsDB test case name, e.g. atomic-ci.podman.tests.functional")
    .option("--reason <text>", "why (free text or a ticket URL)", "re-run on request")
    .option("--by <user>", "operator account (default: the local user)")
    .option("--api <url>", "POST to this test-runner's results API (e.g. http://test-runner:8082/) instead of publishing on $AMQP_URL")
    .addOption(prefixOption())
    .option("--json", "print {action, id, routing_key, broker} (with --api: the queued result) as one JSON object")
    .action(async (opts: { compose: string; test: string; reason: string; by?: string; api?: string; prefix: string; json?: boolean }) => {
      setExit(
        await requestCommand({
          action: "rerun-test",
          compose: opts.compose,
          testcase: opts.test,
          reason: opts.reason,
          prefix: opts.prefix,
          amqpUrl: AMQP_URL,
          json: opts.json === true,
          ...(opts.by ? { by: opts.by } : {}),
          ...(opts.api ? { api: opts.api } : {}),
        }),
      );
    });

  // Release streams: the publisher's manual holds and rollbacks (published as pipeline.operator.request).
  program
    .command("hold")
    .description("hold a release stream: nothing is delivered to it until `unhold` (published to $AMQP_URL for the publisher)")
    .argument("<stream>", "release stream, e.g. stable")
    .requiredOption("--reason <text>", "why (free text or a ticket URL)")
    .option("--by <user>", "operator account (default: the local user)")
    .addOption(prefixOption())
    .option("--json", "print {action, stream, id, routing_key, broker} as JSON")
    .action(async (stream: string, opts: { reason: string; by?: string; prefix: string; json?: boolean }) => {
      setExit(await releaseRequestCommand({ action: "hold", stream, reason: opts.reason, prefix: opts.prefix, amqpUrl: AMQP_URL, json: opts.json === true, ...(opts.by ? { by: opts.by } : {}) }));
    });
  program
    .command("unhold")
    .description("lift the manual hold on a release stream; what waited for it is delivered if nothing else holds it")
    .argument("<stream>", "release stream")
    .option("--reason <text>", "why")
    .option("--by <user>", "operator account (default: the local user)")
    .addOption(prefixOption())
    .option("--json", "print {action, stream, id, routing_key, broker} as JSON")
    .action(async (stream: string, opts: { reason?: string; by?: string; prefix: string; json?: boolean }) => {
      setExit(await releaseRequestCommand({ action: "unhold", stream, prefix: opts.prefix, amqpUrl: AMQP_URL, json: opts.json === true, ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.by ? { by: opts.by } : {}) }));
    });
  program
    .command("rollback")
    .description("roll a release stream back: its ref moves to an earlier release (signed), the withdrawn ones become dead-ends")
    .argument("<stream>", "release stream")
    .option("--to <version>", "release to go back to (default: the newest earlier one that is not a dead-end)")
    .option("--reason <text>", "why (recorded as the dead-end reason)")
    .option("--by <user>", "operator account (default: the local user)")
    .addOption(prefixOption())
    .option("--json", "print {action, stream, id, routing_key, broker} as JSON")
    .action(async (stream: string, opts: { to?: string; reason?: string; by?: string; prefix: string; json?: boolean }) => {
      setExit(await rollbackCommand({ stream, prefix: opts.prefix, amqpUrl: AMQP_URL, json: opts.json === true, ...(opts.to ? { to: opts.to } : {}), ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.by ? { by: opts.by } : {}) }));
    });

  program
    .command("pin")
    .description("pin NAME at EVR in the host definition's manifest-lock.overrides.yaml, as a git commit (exit 0 done, 1 failed, 2 bad arguments)")
    .argument("<name>", "binary package name, e.g. podman")
    .argument("<evr>", "[epoch:]version-release to hold it at, e.g. 5:5.1.2-1.fc41")
    .requiredOption("--reason <url>", "why (a tracker URL); recorded in the pin and the commit message")
    .option("--definition <dir>", "host definition repository (default $ATOMIC_CI_DEFINITION)")
    .option("--author <identity>", '"Name <email>" of the commit (default: git config user.name/user.email)')
    .option("--json", "print the result as JSON")
    .action(async (name: string, evr: string, opts: { reason: string; definition?: string; author?: string; json?: boolean }) => {
      setExit(await pinCommand(name, evr, opts.reason, { ...opts, ...definitionOf(opts), env: TOOL_ENV }));
    });

  program
    .command("unpin")
    .description("remove NAME's pin from the host definition, as a git commit (exit 0 done, 1 failed, 2 bad arguments)")
    .argument("<name>", "binary package name")
    .option("--reason <text>", "why, added to the commit message")
    .option("--definition <dir>", "host definition repository (default $ATOMIC_CI_DEFINITION)")
    .option("--author <identity>", '"Name <email>" of the commit (default: git config user.name/user.email)')
    .option("--json", "print the result as JSON")
    .action(async (name: string, opts: { reason?: string; definition?: string; author?: string; json?: boolean }) => {
      setExit(await unpinCommand(name, opts.reason, { ...opts, ...definitionOf(opts), env: TOOL_ENV }));
    });

  program
    .command("waive")
    .description("waive (or with --revoke unwaive) a test result through the gatekeeper's WaiverDB API; prints the stored waiver (exit 0 stored, 1 failed, 2 bad arguments)")
    .requiredOption("--subject-type <type>", "koji_build, compose, bodhi_update, ...")
    .requiredOption("--subject <id>", "the subject identifier: NVR, compose id or OSTree commit, update alias")
    .requiredOption("--testcase <name>", "test case name, e.g. fedora-ci.koji-build.tier0.functional")
    .requiredOption("--product-version <pv>", "product version, e.g. fedora-41")
    .requiredOption("--comment <text>", "why")
    .option("--scenario <scenario>", "only results of this scenario")
    .option("--revoke", "record waived=false, revoking earlier waivers")
    .option("--username <name>", "who waives (default: the current user)")
    .option("--url <url>", "gatekeeper base URL (default $ATOMIC_CI_GATEKEEPER_URL)")
    .option("--json", "print the stored waiver as JSON")
    .action(async (opts: { subjectType: string; subject: string; testcase: string; productVersion: string; comment: string; scenario?: string; revoke?: boolean; username?: string; url?: string; json?: boolean }) => {
      const url = opts.url ?? GATEKEEPER_URL;
      setExit(await waiveCommand({ ...opts, ...(url === undefined ? {} : { url }) }));
    });

  program
    .command("coverage")
    .description("list every host package with whether its dist-git has tests (STI or tmt) and a gating.yaml; the share with tests, and of tests passed on the latest compose")
    .option("--definition <dir>", "host definition repository (default $ATOMIC_CI_DEFINITION)")
    .option("--dist-git <dir>", "directory of dist-git repositories, one per source package (default $ATOMIC_CI_DIST_GIT)")
    .option("--branch <rev>", "branch read in each dist-git repository (default: its HEAD)")
    .option("--basearch <arch>", "lockfile architecture (manifest-lock.<arch>.json)", "x86_64")
    .option("--results <url>", "ResultsDB-style API base URL for the latest compose's results")
    .option("--compose <commit>", "the compose (OSTree commit) to report on (default: the newest compose result)")
    .option("--json", "print the report as JSON")
    .action(async (opts: { definition?: string; distGit?: string; branch?: string; basearch: string; results?: string; compose?: string; json?: boolean }) => {
      const distGit = opts.distGit ?? process.env["ATOMIC_CI_DIST_GIT"];
      setExit(await coverageCommand({ ...opts, ...definitionOf(opts), ...(distGit === undefined ? {} : { distGit }), env: TOOL_ENV }));
    });

  program
    .command("status")
    .description("where change sets stand: composes, test outcomes and gate verdicts, from the results API, the gatekeeper and the dashboard (exit 0, 1 an API failed, 2 bad arguments)")
    .argument("[change-set]", "one change set (cs-...), shown with every test and gate requirement")
    .option("--results <url>", "the test-runner's results API base URL (default $ATOMIC_CI_RESULTS_URL)")
    .option("--gatekeeper <url>", "the gatekeeper's base URL, for gate verdicts (default $ATOMIC_CI_GATEKEEPER_URL)")
    .option("--dashboard <url>", "the dashboard's base URL: adds its /api/state (default $ATOMIC_CI_DASHBOARD_URL)")
    .option("--product-version <pv>", "product version of the decisions", "fedora-41")
    .option("--context <name>", "decision context to ask for (repeatable; default both compose gates)", collect)
    .option("--limit <n>", "results read at most, newest first", positiveInt, 500)
    .option("--json", "print the report as one JSON object")
    .action(async (changeSet: string | undefined, opts: { results?: string; gatekeeper?: string; dashboard?: string; productVersion: string; context?: string[]; limit: number; json?: boolean }) => {
      const results = opts.results ?? RESULTS_URL;
      const gatekeeper = opts.gatekeeper ?? GATEKEEPER_URL;
      const dashboard = opts.dashboard ?? DASHBOARD_URL;
      setExit(
        await statusCommand({
          productVersion: opts.productVersion,
          contexts: opts.context ?? ["atomic_ci_compose_gate", "atomic_ci_image_gate"],
          limit: opts.limit,
          json: opts.json === true,
          ...(changeSet === undefined ? {} : { changeSet }),
          ...(results === undefined ? {} : { results }),
          ...(gatekeeper === undefined ? {} : { gatekeeper }),
          ...(dashboard === undefined ? {} : { dashboard }),
        }),
      );
    });

  program
    .command("serve")
    .description("run services from their configuration (ATOMIC_CI_* env, ATOMIC_CI_CONFIG file); see docs/config.md")
    .argument("<service...>", "trigger-listener, composer, image-builder, test-runner, gatekeeper, publisher, dashboard, or all")
    .action(async (names: string[]) => {
      setExit(await serveCommand(names, TOOL_ENV));
    });

  return program;
}

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other parse error is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`atomic-ci: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`atomic-ci: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
}

process.exitCode = await main(process.argv);
