// The delivery part of the demo: what passed the gates reaches users, with no human step after
// the gates. A broken build's compose is held back by the publisher naming the gate; the good
// build's compose gets its qcow2 (the image-builder builds only gated commits), is booted with
// its image tests (the one boot of the demo), passes the image gate, is held by a freeze committed
// to the delivery policy, and is delivered into the local public tree when a second commit lifts
// the freeze. Everything shown is read from what the services say on the bus.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gitAdd, gitCommit } from "@atomic-ci/tools";
import { goodBuild, type GatingDeps, type GatingSummary } from "./gating.js";
import type { Seen } from "./watch.js";

/** The fixture world's delivery policy file (test/fixture-world/src/hostdef.ts) and its stream fed by the gates. */
const POLICY_FILE = "delivery.yaml";
export const STREAM = "testing";
const IMAGE_GATE = "atomic_ci_image_gate";
const IMAGE_TESTS = "atomic-ci.compose.image-tests.functional";
const AUTHOR = { name: "Demo Release Engineer", email: "releng@atomic-ci.invalid" };
/** Image build, one boot under software emulation (about 20 s alone; the machine may be busy), then promotion. */
const IMAGE_TIMEOUT_MS = 240_000;
const TIMEOUT_MS = 90_000;

export interface HoldReason {
  kind: string;
  detail: string;
  until?: string;
}

/** A release the publisher delivered, as `pipeline.release.delivered` says. */
export interface DeliveredSummary {
  stream: string;
  version: string;
  commit: string;
  ref: string;
  repo: string;
  stream_metadata: string;
  release_metadata: string;
  images: string[];
}

/** A release the publisher held back, with its reasons, as `pipeline.release.held` says. */
export interface HeldSummary {
  stream: string;
  version: string;
  commit: string;
  reasons: HoldReason[];
  /** What the demo did about it: nothing (the gate), or lifted the freeze. */
  then: "stays held" | "delivered after the freeze was lifted";
}

export interface DeliveryDeps extends GatingDeps {
  /** The broken build's compose (the gating part's): the publisher must hold it at the gate. */
  brokenCommit: string;
}

const short = (commit: string) => commit.slice(0, 12);
const release = (topic: string, commit: string) => (m: Seen) => m.topic === topic && m.body["commit"] === commit;
const reasonsOf = (m: Seen) => (m.body["reasons"] ?? []) as HoldReason[];

function heldOf(m: Seen, then: HeldSummary["then"]): HeldSummary {
  return { stream: String(m.body["stream"]), version: String(m.body["os_version"]), commit: String(m.body["commit"]), reasons: reasonsOf(m), then };
}

/** Commit a new text of the delivery policy to the demo's definition; the publisher reads it at its next evaluation. */
async function commitPolicy(deps: DeliveryDeps, edit: (text: string) => string, message: string): Promise<string> {
  const path = join(deps.definition, POLICY_FILE);
  const before = await readFile(path, "utf8");
  const after = edit(before);
  if (after === before) throw new Error(`${POLICY_FILE}: the edit changed nothing`);
  await writeFile(path, after);
  const ctx = { env: deps.env };
  await gitAdd(deps.definition, ctx, [POLICY_FILE]);
  return gitCommit(deps.definition, { ...ctx, message, author: { ...AUTHOR, date: new Date() } });
}

/** `freezes: []` ↔ one freeze of STREAM (the fixture world's policy has the empty flow list). */
const NO_FREEZES = /^freezes: \[\]$/m;
function addFreeze(text: string, freeze: { start: Date; end: Date; reason: string }): string {
  if (!NO_FREEZES.test(text)) throw new Error(`${POLICY_FILE} has freezes already; the demo expects \`freezes: []\``);
  const block = `freezes:\n  - {start: "${freeze.start.toISOString()}", end: "${freeze.end.toISOString()}", reason: ${JSON.stringify(freeze.reason)}, streams: [${STREAM}]}`;
  return text.replace(NO_FREEZES, block);
}
function liftFreezes(text: string): string {
  return text.replace(/^freezes:\n(?: {2}- .*\n)+/m, "freezes: []\n");
}

function showHeld(say: (line?: string) => void, m: Seen): void {
  say(`    pipeline.release.held: stream ${String(m.body["stream"])}, ${String(m.body["os_version"])}, commit ${short(String(m.body["commit"]))}`);
  for (const r of reasonsOf(m)) say(`      ⏸ ${r.kind}: ${r.detail}${r.until ? ` (until ${r.until})` : ""}`);
}

/**
 * Runs the delivery steps, appending what was held and delivered as soon as it is known. Throws
 * when something it shows did not happen.
 */
export async function runDeliveryDemo(deps: DeliveryDeps, gating: GatingSummary[], out: { delivered: DeliveredSummary[]; held: HeldSummary[] }): Promise<void> {
  const { say, watcher } = deps;

  say(`  7. The broken build's compose ${short(deps.brokenCommit)} at the publisher:`);
  // The hold once its tests are done: the gate names what failed (earlier holds may say the tests are still running).
  const brokenHeld = await watcher.next(
    (m) => release("pipeline.release.held", deps.brokenCommit)(m) && reasonsOf(m).some((r) => r.kind === "gate" && / failed/.test(r.detail)),
    0,
    TIMEOUT_MS,
  );
  showHeld(say, brokenHeld);
  say("    → held back: it never reaches users (no image is even built for it)");
  out.held.push(heldOf(brokenHeld, "stays held"));

  const start = new Date(Date.now() - 60_000);
  const end = new Date(Date.now() + 3_600_000);
  const frozen = await commitPolicy(deps, (t) => addFreeze(t, { start, end, reason: "demo: release engineering freeze" }), `delivery: freeze ${STREAM} for an hour\n`);
  say(`  8. A freeze: ${POLICY_FILE} in the definition gets a freeze of ${STREAM} (definition commit ${short(frozen)})`);
  const from = watcher.seen.length;
  const commit = await goodBuild({ ...deps, step: 9 }, gating);

  const image = await watcher.next((m) => (m.topic === "pipeline.image.complete" || m.topic === "pipeline.image.error") && m.body["commit"] === commit, from, IMAGE_TIMEOUT_MS);
  if (image.topic === "pipeline.image.error") throw new Error(`the image of ${short(commit)} failed (${String(image.body["kind"])}): ${String(image.body["reason"])}`);
  say(`    image-builder (gated commits only): qcow2 built, ${(image.body["meta"] as { location: string }).location}`);
  const imageGate = await watcher.next(
    (m) => m.topic === "greenwave.decision.update" && m.body["subject_identifier"] === commit && m.body["decision_context"] === IMAGE_GATE && m.body["policies_satisfied"] === true,
    from,
    IMAGE_TIMEOUT_MS,
  );
  const bootResult = watcher.seen
    .slice(from)
    .filter((m) => m.topic === "resultsdb.result.new" && (m.body["testcase"] as { name?: string } | undefined)?.name === IMAGE_TESTS && (m.body["data"] as { item?: string[] } | undefined)?.item?.includes(commit))
    .at(-1);
  say(`    test-runner booted the qcow2 under qemu (one boot) and ran the image tests: ${IMAGE_TESTS} ${bootResult ? String(bootResult.body["outcome"]) : "(no result seen)"}`);
  say(`    image gate (compose ${short(commit)}, ${IMAGE_GATE}): ✓ satisfied: ${String(imageGate.body["summary"])}`);

  // Held for the freeze alone: everything else it waited for (gates, images) is there.
  const frozenHeld = await watcher.next(
    (m) => release("pipeline.release.held", commit)(m) && m.body["stream"] === STREAM && reasonsOf(m).length > 0 && reasonsOf(m).every((r) => r.kind === "freeze"),
    from,
    TIMEOUT_MS,
  );
  showHeld(say, frozenHeld);
  if (watcher.seen.slice(from).some(release("pipeline.release.delivered", commit))) throw new Error(`${short(commit)} was delivered during the freeze`);

  const lifted = await commitPolicy(deps, liftFreezes, `delivery: lift the freeze of ${STREAM}\n`);
  say(`  10. The freeze is lifted (definition commit ${short(lifted)}); no other step:`);
  out.held.push(heldOf(frozenHeld, "delivered after the freeze was lifted"));
  const delivered = await watcher.next((m) => release("pipeline.release.delivered", commit)(m) && m.body["stream"] === STREAM, from, TIMEOUT_MS);
  const pub = delivered.body["public"] as { repo: string; stream_metadata: string; release_metadata: string; images: string[] };
  const summary: DeliveredSummary = {
    stream: String(delivered.body["stream"]),
    version: String(delivered.body["os_version"]),
    commit,
    ref: String(delivered.body["ref"]),
    repo: pub.repo,
    stream_metadata: pub.stream_metadata,
    release_metadata: pub.release_metadata,
    images: pub.images,
  };
  out.delivered.push(summary);
  say(`    ✓ delivered: stream ${summary.stream}, version ${summary.version}, commit ${short(commit)}`);
  say(`      ref      ${summary.ref} in ${summary.repo} (commit and summary GPG-signed)`);
  say(`      metadata ${summary.stream_metadata}, ${summary.release_metadata}`);
  for (const i of summary.images) say(`      image    ${i}`);
}
