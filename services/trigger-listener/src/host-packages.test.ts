import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { ChangeSetIgnored, ChangeSetQueued } from "@atomic-ci/messages";
import { ConfigError, ExitCode, runService, ServiceStartError, type ServiceHandle } from "@atomic-ci/runtime";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixtureInput } from "./fixtures.test-helper.js";
import { loadHostPackages } from "./host-packages.js";
import { createTriggerListenerService, triggerListenerConfigSchema, type TriggerListenerConfig } from "./index.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-ci-trigger-definition-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BASE = `ref: fedora/41/\${basearch}/atomic-host
releasever: "41"
packages:
  - bash
  - systemd
packages-x86_64:
  - grub2
packages-aarch64:
  - uboot-tools
`;
const TOP = `include: base.yaml
packages:
  - podman-5.2.0-1.fc41
`;
const LOCK = JSON.stringify({
  packages: {
    bash: { evra: "5.2.26-3.fc41.x86_64" },
    "bash-completion": { evr: "1:2.11-12.fc41" },
    systemd: { evra: "256.7-1.fc41.x86_64" },
  },
});

async function files(contents: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(contents)) await writeFile(join(dir, name), text);
}

/** The section as config would give it, with these values. */
function section(triggerListener: Record<string, unknown>): TriggerListenerConfig["triggerListener"] {
  return triggerListenerConfigSchema.parse({ service: "trigger-listener", triggerListener }).triggerListener;
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err;
}

describe("host packages from the host definition", () => {
  it("the treefile's packages (includes followed, packages-<basearch>, pinned entries by name) ∪ the lockfile's ∪ hostPackages", async () => {
    await files({ "base.yaml": BASE, "top.yaml": TOP, "manifest-lock.x86_64.json": LOCK });
    const host = await loadHostPackages(
      section({ hostPackages: ["kernel"], definition: { treefile: join(dir, "top.yaml"), lockfile: join(dir, "manifest-lock.x86_64.json") } }),
    );
    expect([...host.names].sort()).toEqual(["bash", "bash-completion", "grub2", "kernel", "podman", "systemd"]);
    expect(host.counts).toEqual({ explicit: 1, treefile: 4, lockfile: 3 });
  });

  it("reads packages-<basearch> for the configured basearch; either file alone is enough", async () => {
    await files({ "base.yaml": BASE, "top.yaml": TOP, "manifest-lock.x86_64.json": LOCK });
    const arm = await loadHostPackages(section({ definition: { treefile: join(dir, "top.yaml"), basearch: "aarch64" } }));
    expect([...arm.names].sort()).toEqual(["bash", "podman", "systemd", "uboot-tools"]);
    const lockOnly = await loadHostPackages(section({ definition: { lockfile: join(dir, "manifest-lock.x86_64.json") } }));
    expect([...lockOnly.names].sort()).toEqual(["bash", "bash-completion", "systemd"]);
    expect((await loadHostPackages(section({ hostPackages: ["bash"] }))).names).toEqual(new Set(["bash"]));
  });

  it("a lockfile that does not load is a configuration error naming the key and the file", async () => {
    const bad = join(dir, "manifest-lock.x86_64.json");
    await files({ "manifest-lock.x86_64.json": JSON.stringify({ packages: { bash: { evra: "not a version" } } }) });
    const err = await configError(loadHostPackages(section({ definition: { lockfile: bad } })));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]?.path).toBe("triggerListener.definition.lockfile");
    expect(err.message).toContain(bad);
    expect(err.message).toContain("packages.bash");
  });

  it("a missing or invalid treefile is a configuration error naming the file", async () => {
    const missing = join(dir, "nope.yaml");
    const err = await configError(loadHostPackages(section({ definition: { treefile: missing } })));
    expect(err.issues[0]?.path).toBe("triggerListener.definition.treefile");
    expect(err.message).toContain(missing);
    await files({ "top.yaml": "packages: [bash]\nfrobnicate: true\n" });
    const unknown = await configError(loadHostPackages(section({ definition: { treefile: join(dir, "top.yaml") } })));
    expect(unknown.message).toContain("frobnicate");
  });

  it("the definition section is strict and checks basearch", () => {
    expect(() => section({ definition: { lockfiles: "x" } })).toThrow(/lockfiles/);
    expect(() => section({ definition: { basearch: "sparc" } })).toThrow();
  });
});

describe("definitionRepo", () => {
  it("accepts name or namespace/name, nothing deeper", () => {
    expect(section({ definitionRepo: "fedora-atomic" }).definitionRepo).toBe("fedora-atomic");
    expect(section({ definitionRepo: "atomic/host-definition" }).definitionRepo).toBe("atomic/host-definition");
    expect(() => section({ definitionRepo: "a/b/c" })).toThrow(/name or namespace\/name/);
    expect(() => section({ definitionRepo: "" })).toThrow();
  });
});

describe("the service with a host definition", () => {
  let handle: ServiceHandle<TriggerListenerConfig> | undefined;
  afterEach(async () => {
    if (handle) expect((await handle.shutdown("test over")).exitCode).toBe(0);
    handle = undefined;
  });
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const start = (triggerListener: Record<string, unknown>) =>
    runService({ ...createTriggerListenerService(), logDestination: quiet, processMetrics: false, config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 }, triggerListener } } });

  it("takes a package named only by the lockfile as a host package, and still ignores the others", async () => {
    await files({ "manifest-lock.x86_64.json": JSON.stringify({ packages: { "prusa-slicer": { evra: "2.9.4-1.fc44.x86_64" } } }) });
    handle = await start({ definition: { lockfile: join(dir, "manifest-lock.x86_64.json") } });
    const seen: { topic: string; body: unknown }[] = [];
    await handle.bus.consume({ queue: "test.collector", bindings: ["#.pipeline.change-set.#"], handler: (m) => Promise.resolve(void seen.push(m)) });
    for (const [name, id] of [["prusa-slicer", "m1"], ["cowsay", "m2"]] as const) {
      const input = fixtureInput("buildsys.build.state.change.json", (b) => Object.assign(b, { new: 1, name }), id);
      await handle.bus.publish(input.topic.replace(/^org\.fedoraproject\.prod\./, ""), input.body, { topicPrefix: "org.fedoraproject.prod" });
    }
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const queued = seen.filter((m) => m.topic.endsWith(".queued")).map((m) => m.body as ChangeSetQueued);
    const ignored = seen.filter((m) => m.topic.endsWith(".ignored")).map((m) => m.body as ChangeSetIgnored);
    expect(queued.map((q) => q.members.map((m) => ("package" in m ? m.package : m.kind)))).toEqual([["prusa-slicer"]]);
    expect(ignored.map((i) => [i.reason_code, i.package])).toEqual([["not-in-host", "cowsay"]]);
  });

  it("does not start with a definition file that does not load: exit code 78 and the file named", async () => {
    const missing = join(dir, "manifest-lock.x86_64.json");
    const err = await start({ definition: { lockfile: missing } }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceStartError);
    expect((err as ServiceStartError).exitCode).toBe(ExitCode.CONFIG_ERROR);
    expect((err as ServiceStartError).message).toContain("triggerListener.definition.lockfile");
    expect((err as ServiceStartError).message).toContain(missing);
  });
});
