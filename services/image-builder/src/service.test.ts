// The image-builder's triggers on the in-memory bus. The image engine is replaced by one that
// only reports its steps (the real one is exercised in test/integration/pipeline-images*.test.ts):
// what is under test here is which messages make it build.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { DEAD_LETTER_HEADERS, MemoryBroker, type BusMessage } from "@atomic-ci/bus";
import type { BuildImagesOptions, BuiltImages } from "@atomic-ci/images";
import type { ComposeComplete, GreenwaveDecisionUpdate } from "@atomic-ci/messages";
import { runService, type ServiceHandle } from "@atomic-ci/runtime";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createImageBuilderService, type ImageBuilderConfig, type ImageBuilderOptions, type RepoVerdict } from "./index.js";

let handle: ServiceHandle<ImageBuilderConfig> | undefined;
const outDir = mkdtempSync(join(tmpdir(), "image-builder-service-"));

afterEach(async () => {
  if (handle) expect((await handle.shutdown("test over")).exitCode).toBe(0);
  handle = undefined;
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const commitOf = (c: string) => c.repeat(64);
/** The image-builder's queue (its consumer's name in the metrics). */
const QUEUE = "atomic-ci.image-builder";

function composeBody(c: string): ComposeComplete {
  return {
    change_set_id: `cs-${c.repeat(16)}`,
    compose_id: `atomic-host-41-20250102.ci.${c}`,
    version: "1.0.0",
    generated_at: "2025-01-02T03:04:05Z",
    ref: "fedora/41/x86_64/atomic-host",
    commit: commitOf(c),
    parent: null,
    os_version: "41.20250102.0",
    input_hash: "b".repeat(64),
    repo: { location: "/srv/repo" },
    lockfile: { location: "composes/x/manifest-lock.x86_64.json", sha256: "c".repeat(64) },
    pkgdiff: { added: [], removed: [], upgraded: [], downgraded: [] },
    reused: false,
    timestamp: "2025-01-02T03:04:05Z",
  };
}

function decisionBody(c: string, satisfied: boolean, context = "atomic_ci_compose_gate"): GreenwaveDecisionUpdate {
  return {
    subject_type: "compose",
    subject_identifier: commitOf(c),
    subject: [{ type: "compose", item: commitOf(c) }],
    product_version: "fedora-41",
    decision_context: context,
    policies_satisfied: satisfied,
    summary: satisfied ? "All required tests (1 total) have passed or been waived" : "Of 1 required test, 1 test failed",
    applicable_policies: ["atomic-ci-compose-gate"],
    unsatisfied_requirements: [],
  };
}

/** Reports its steps and a result without running a tool; counts its calls per commit. */
function fakeEngine(calls: string[]) {
  return (options: BuildImagesOptions): Promise<BuiltImages> => {
    calls.push(options.commit);
    for (const step of ["sysroot", "disk", "qcow2", "meta"] as const) options.onProgress?.(step, step);
    const dir = `${options.outDir}/${options.commit}/v1-000000000000`;
    return Promise.resolve({
      dir,
      metaPath: `${dir}/meta.json`,
      meta: {
        buildid: "41.20250102.0",
        name: "fedora-atomic-host",
        "ostree-commit": options.commit,
        "ostree-version": "41.20250102.0",
        ref: options.ref,
        "coreos-assembler.basearch": "x86_64",
        "atomic-ci.image-builder-version": 1,
        images: { qcow2: { path: "qcow2/x.qcow2", sha256: "d".repeat(64), size: 1 } },
      },
      built: ["qcow2"],
      reused: [],
      timings: {},
    });
  };
}

/** The engine above reads no repository: every one is fine (repo.int.test.ts checks real ones). */
const anyRepo = (): Promise<RepoVerdict> => Promise.resolve({ kind: "ok", path: "/srv/repo" });

async function start(imageBuilder: Record<string, unknown>, options: { checkRepo?: ImageBuilderOptions["checkRepo"]; bus?: Record<string, unknown>; collect?: boolean } = {}) {
  const calls: string[] = [];
  const broker = new MemoryBroker();
  handle = await runService({
    ...createImageBuilderService({ build: fakeEngine(calls), checkRepo: options.checkRepo ?? anyRepo }),
    broker,
    logDestination: new Writable({ write: (_c, _e, done) => done() }),
    processMetrics: false,
    config: { env: {}, overrides: { http: { host: "127.0.0.1", port: 0 }, bus: options.bus ?? {}, imageBuilder: { formats: ["qcow2"], outDir, ...imageBuilder } } },
  });
  const seen: BusMessage[] = [];
  if (options.collect !== false) await handle.bus.consume({ queue: "test.collector", bindings: ["#.pipeline.image.#"], handler: (m) => Promise.resolve(void seen.push(m)) });
  const bus = handle.bus;
  const metrics = handle.metrics;
  let published = 0;
  /** Messages the image-builder's consumer has acked or dead-lettered (requeues not counted). */
  const settled = async () => {
    let n = 0;
    for (const counter of [metrics.processed, metrics.dropped]) for (const v of (await counter.get()).values) if (v.labels["consumer"] === QUEUE) n += v.value;
    return n;
  };
  return {
    calls,
    /** Dead letters of the image-builder's queue: [reason, detail, delivery count]. */
    deadLetters: () => broker.peek(`${QUEUE}.dead-letter`).map((m) => [m.properties.headers[DEAD_LETTER_HEADERS.reason], m.properties.headers[DEAD_LETTER_HEADERS.detail], m.properties.headers[DEAD_LETTER_HEADERS.deliveryCount]]),
    errors: () => seen.filter((m) => m.topic.endsWith(".image.error")).map((m) => m.body as Record<string, unknown>),
    completes: () => seen.filter((m) => m.topic.endsWith(".image.complete")).map((m) => (m.body as { commit: string }).commit),
    async compose(c: string) {
      await bus.publish("pipeline.compose.complete", composeBody(c), { headers: { atomic_ci_change_set: `cs-${c.repeat(16)}` } });
      published++;
    },
    async decide(c: string, satisfied: boolean, context?: string) {
      await bus.publish("greenwave.decision.update", decisionBody(c, satisfied, context));
      published++;
    },
    /** Everything published so far has been handled (acked or dead-lettered), a marker compose last; with expectBuilt, the marker was built. */
    async settle(marker: string, expectBuilt: boolean) {
      await this.compose(marker);
      if (expectBuilt) await until(() => calls.includes(commitOf(marker)));
      await this.drained();
    },
    /** Every message published so far was acked or dead-lettered. */
    async drained() {
      for (const deadline = Date.now() + 30_000; (await settled()) < published; ) {
        if (Date.now() > deadline) throw new Error(`timed out: ${await settled()} of ${published} messages settled`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("imageBuilder.trigger", () => {
  it("compose (default): builds on every compose.complete and does not bind decisions", async () => {
    const t = await start({});
    expect(handle?.config.imageBuilder.trigger).toBe("compose");
    await t.compose("a");
    // Nobody here binds decisions: the in-memory broker returns the message.
    await expect(t.decide("a", true)).rejects.toThrow(/unroutable/);
    await t.settle("f", true);
    expect(t.calls).toEqual([commitOf("a"), commitOf("f")]);
    await until(() => t.completes().length === 2);
  });

  it("compose-gate: builds only the commits whose compose gate passed, again when the gate is decided again", async () => {
    const t = await start({ trigger: "compose-gate" });
    expect(handle?.config.bus.bindings).toEqual(["#.pipeline.compose.complete"]);
    await t.compose("a");
    await t.compose("b");
    await t.decide("a", false); // tests failed: nothing
    await t.decide("b", true, "atomic_ci_image_gate"); // another gate: nothing
    await t.decide("c", true); // a commit never composed (yet)
    await t.settle("7", false);
    expect(t.calls).toEqual([]);

    await t.decide("b", true);
    await until(() => t.completes().length === 1);
    expect(t.completes()).toEqual([commitOf("b")]);
    await t.decide("b", true); // decided again: announced again (what downstream lost is redone)
    await until(() => t.completes().length === 2);
    await t.compose("c"); // its gate passed before its compose arrived: builds now
    await until(() => t.completes().length === 3);
    await t.decide("a", true); // re-run passed: builds a
    await until(() => t.completes().length === 4);
    expect(t.calls).toEqual([commitOf("b"), commitOf("b"), commitOf("c"), commitOf("a")]);
    expect(t.completes()).toEqual([commitOf("b"), commitOf("b"), commitOf("c"), commitOf("a")]);
  });

  it("compose-gate: a restart between the compose and its gate does not lose the build", async () => {
    const before = await start({ trigger: "compose-gate" });
    await before.compose("9");
    await before.settle("8", false);
    expect(before.calls).toEqual([]);
    expect((await handle?.shutdown("killed"))?.exitCode).toBe(0);
    handle = undefined;

    // A new process: nothing in memory, the compose.complete long acked.
    const after = await start({ trigger: "compose-gate" });
    await after.decide("9", true);
    await until(() => after.completes().length === 1);
    expect(after.calls).toEqual([commitOf("9")]);
    // Built: the pending record is gone (the other, still waiting, stays).
    const pending = readdirSync(join(outDir, ".pending-composes"));
    expect(pending).toContain(`${commitOf("8")}.json`);
    expect(pending).not.toContain(`${commitOf("9")}.json`);
  });

  it("compose-gate: a restart between the gate's decision and the compose does not lose the build", async () => {
    const before = await start({ trigger: "compose-gate" });
    await before.decide("6", true); // its compose.complete has not come yet
    await before.settle("5", false);
    expect(before.calls).toEqual([]);
    expect((await handle?.shutdown("killed"))?.exitCode).toBe(0);
    handle = undefined;

    // A new process: the decision is not published again (it did not change); the disk remembers it.
    const after = await start({ trigger: "compose-gate" });
    await after.compose("6");
    await until(() => after.completes().length === 1);
    expect(after.calls).toEqual([commitOf("6")]);
  });
});

describe("a compose.complete's repository", () => {
  // The verdicts themselves (real repositories) are repo.int.test.ts'; here: what the service does with each.
  const poison = `commit ${commitOf("d")} is not in the OSTree repository "/srv/repo" (its refs are readable)`;
  const verdicts: Record<string, RepoVerdict> = {
    [commitOf("d")]: { kind: "poison", reason: poison },
    [commitOf("e")]: { kind: "unreachable", reason: 'repository "/srv/repo" cannot be reached (ENOENT): storage not mounted?' },
  };
  const judge: ImageBuilderOptions["checkRepo"] = (input) => Promise.resolve(verdicts[input.commit] ?? { kind: "ok", path: "/srv/repo" });

  it("poison: dead-lettered at once with its reason, nothing built or reported, not remembered for the gate", async () => {
    const t = await start({ trigger: "compose-gate" }, { checkRepo: judge, bus: { maxDeliveries: 3 } });
    await t.compose("d");
    await until(() => t.deadLetters().length === 1);
    expect(t.deadLetters()).toEqual([["dropped", poison, 1]]);
    await t.decide("d", true);
    await t.settle("f", false);
    expect(t.calls).toEqual([]);
    expect(t.errors()).toEqual([]);
    expect(readdirSync(join(outDir, ".pending-composes"))).not.toContain(`${commitOf("d")}.json`);
  });

  it("unreachable: an infrastructure error, requeued until the delivery limit, then reported at step sysroot and acked", async () => {
    const t = await start({}, { checkRepo: judge, bus: { maxDeliveries: 3 } });
    await t.compose("e");
    await until(() => t.errors().length === 1);
    expect(t.errors()[0]).toMatchObject({ commit: commitOf("e"), kind: "infrastructure-error", step: "sysroot", reason: expect.stringMatching(/storage not mounted/) as unknown });
    await t.settle("f", true);
    expect(t.calls).toEqual([commitOf("f")]);
    expect(t.deadLetters()).toEqual([]);
  });

  it("unreachable with nobody bound to image.error: still acked once reported, not dead-lettered at the delivery limit", async () => {
    const t = await start({}, { checkRepo: judge, bus: { maxDeliveries: 2 }, collect: false });
    await t.compose("e");
    await t.drained();
    expect(t.deadLetters()).toEqual([]);
  });
});
