// Server-side HTML of the dashboard: plain template strings, no framework, no build step.
// Everything shown comes from messages anyone allowed on the bus can send, so every value goes
// through `escapeHtml` and only http(s) URLs become links. The inline script (the only one) is
// pinned by its hash in the Content-Security-Policy, so even a value that slipped through
// could not run.
import { createHash } from "node:crypto";
import { shortCommit, type ChangeSetView, type ComposeView, type GateView, type PageView, type Tone } from "./view.js";
import type { StreamRow, TestRow, WaiverRow } from "./projection.js";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A link when `url` is http(s), else the text alone (a `javascript:` URL in a message stays text). */
export function link(url: string | undefined, text: string): string {
  if (!url) return escapeHtml(text);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return escapeHtml(text);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return escapeHtml(text);
  return `<a href="${escapeHtml(parsed.href)}" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
}

const TEST_TONE: Record<string, Tone> = {
  passed: "pass",
  info: "pass",
  not_applicable: "idle",
  failed: "fail",
  needs_inspection: "fail",
  error: "fail",
  queued: "idle",
  running: "busy",
};

const badge = (tone: Tone, text: string, extra = ""): string => `<span class="badge ${tone}"${extra}>${escapeHtml(text)}</span>`;

function renderTest(t: TestRow): string {
  const state = badge(TEST_TONE[t.state] ?? "idle", t.state);
  const log = t.log ? link(t.log, "log") : "";
  const run = t.url && t.url !== t.log ? ` ${link(t.url, "run")}` : "";
  return `<tr class="test"><td>${escapeHtml(t.testcase)}${t.summary ? ' <span class="muted">(summary)</span>' : ""}</td><td>${escapeHtml(t.scenario ?? "")}</td><td>${state}</td><td>${log}${run}</td><td class="note">${escapeHtml(t.note ?? "")}</td></tr>`;
}

function renderGate(g: GateView): string {
  const reqs = g.requirements.length ? `<ul class="requirements">${g.requirements.map((r) => `<li>${escapeHtml(r)}</li>`).join("")}</ul>` : "";
  return `<div class="gate" data-context="${escapeHtml(g.context)}">${badge(g.tone, g.satisfied ? "satisfied" : "not satisfied")} <strong>${escapeHtml(g.context)}</strong> on ${escapeHtml(g.subject)}: ${escapeHtml(g.summary)}${reqs}</div>`;
}

function renderCompose(c: ComposeView): string {
  const r = c.row;
  const what = [
    r.osVersion ? `version ${r.osVersion}` : "",
    r.commit ? `commit ${shortCommit(r.commit)}` : "",
    r.ref ?? "",
    r.reused ? "reused" : "",
  ].filter((x) => x !== "");
  const images = r.images ? ("error" in r.images ? `<div>images: ${badge("fail", "error")} ${escapeHtml(r.images.error)}</div>` : `<div>images: ${escapeHtml(r.images.formats.join(", "))}</div>`) : "";
  const error = r.error ? `<div class="error">${escapeHtml(r.error.kind)}: ${escapeHtml(r.error.reason)}${r.error.missingDependency ? ` (missing ${escapeHtml(r.error.missingDependency)})` : ""}</div>` : "";
  const tests = c.tests.length ? `<table class="tests"><thead><tr><th>test</th><th>scenario</th><th>state</th><th>logs</th><th>note</th></tr></thead><tbody>${c.tests.map(renderTest).join("")}</tbody></table>` : "";
  return `<div class="compose" data-compose="${escapeHtml(r.composeId)}"><div>compose <code>${escapeHtml(r.composeId)}</code> ${badge(r.state === "error" ? "fail" : r.state === "complete" ? "pass" : "busy", r.state)} ${escapeHtml(what.join(" · "))} ${r.log ? link(r.log, "log") : ""}</div>${error}${images}${tests}${c.gates.map(renderGate).join("")}</div>`;
}

function renderChangeSet(cs: ChangeSetView): string {
  const r = cs.row;
  const about = [r.reason ?? "", r.requestedBy ? `by ${r.requestedBy}` : "", r.parent ? `subset of ${r.parent}` : "", r.rerunOf ? `re-run of ${r.rerunOf}` : "", r.queuedAt ? `queued ${r.queuedAt}` : ""].filter((x) => x !== "");
  const culprits = r.culprits
    ? `<div class="culprits"><strong>culprits</strong> (${escapeHtml(r.culprits.composesTried)} compose(s) tried): ${r.culprits.summary.length ? `<ul>${r.culprits.summary.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>` : "none (a flaky failure)"}${r.culprits.accepted.length ? `<div>accepted: ${escapeHtml(r.culprits.accepted.join(", "))}</div>` : ""}</div>`
    : "";
  return `<section class="changeset" id="${escapeHtml(r.id)}" data-stage="${escapeHtml(cs.stage.label)}"><h3><code>${escapeHtml(r.id)}</code> ${badge(cs.stage.tone, cs.stage.label, ' data-role="stage"')}</h3><div class="muted">${escapeHtml(about.join(" · "))}</div><ul class="members">${r.members.map((m) => `<li>${escapeHtml(m)}</li>`).join("")}</ul>${cs.buildGates.map(renderGate).join("")}${cs.composes.map(renderCompose).join("")}${culprits}</section>`;
}

function renderStream(s: StreamRow): string {
  const latest = s.delivered[0];
  const hold = s.manualHold ? `<div class="hold">${badge("wait", "on hold")} by ${escapeHtml(s.manualHold.by)}: ${escapeHtml(s.manualHold.reason)}</div>` : "";
  const held = Object.values(s.held)
    .map((h) => `<li>${escapeHtml(h.osVersion)} (${escapeHtml(shortCommit(h.commit))}) waits: ${h.reasons.map((r) => `${escapeHtml(r.kind)} — ${escapeHtml(r.detail)}${r.until ? ` (until ${escapeHtml(r.until)})` : ""}`).join("; ")}</li>`)
    .join("");
  const rolled = s.rolledBack ? `<div>${badge("wait", "rolled back")} to ${escapeHtml(s.rolledBack.osVersion)} by ${escapeHtml(s.rolledBack.by)}: ${escapeHtml(s.rolledBack.reason)}${s.rolledBack.withdrawn.length ? ` (withdrawn ${escapeHtml(s.rolledBack.withdrawn.join(", "))})` : ""}</div>` : "";
  const releases = s.delivered
    .map((d) => `<li>${escapeHtml(d.osVersion)} <code>${escapeHtml(shortCommit(d.commit))}</code>${d.fromStream ? ` from ${escapeHtml(d.fromStream)}` : ""}${d.changeSetId ? ` (${escapeHtml(d.changeSetId)})` : ""} ${escapeHtml(d.at)}</li>`)
    .join("");
  return `<section class="stream" data-stream="${escapeHtml(s.name)}"><h3>${escapeHtml(s.name)} ${latest ? badge("pass", `at ${latest.osVersion}`) : badge("idle", "nothing released")}</h3>${hold}${rolled}${held ? `<div>held:<ul class="held">${held}</ul></div>` : ""}${releases ? `<div>releases:<ul class="releases">${releases}</ul></div>` : ""}</section>`;
}

function renderWaiver(w: WaiverRow): string {
  return `<tr class="waiver"><td>${escapeHtml(w.id)}</td><td>${escapeHtml(w.subjectType)} ${escapeHtml(w.subjectIdentifier)}</td><td>${escapeHtml(w.testcase)}</td><td>${w.waived ? badge("pass", "waived") : badge("idle", "revoked")}</td><td>${escapeHtml(w.username)}</td><td>${escapeHtml(w.comment)}</td></tr>`;
}

/** The part of the page that changes: what an update replaces. */
export function renderContent(view: PageView): string {
  const streams = view.streams.length ? view.streams.map(renderStream).join("") : '<p class="muted">no release yet</p>';
  const changeSets = view.changeSets.length ? view.changeSets.map(renderChangeSet).join("") : '<p class="muted">no change set yet</p>';
  const waivers = view.waivers.length
    ? `<table class="waivers"><thead><tr><th>id</th><th>subject</th><th>test</th><th></th><th>by</th><th>comment</th></tr></thead><tbody>${view.waivers.map(renderWaiver).join("")}</tbody></table>`
    : '<p class="muted">no waiver</p>';
  return `<h2>Streams</h2><div id="streams">${streams}</div><h2>Change sets</h2><div id="changesets">${changeSets}</div><h2>Waivers</h2><div id="waivers">${waivers}</div><p class="muted">${escapeHtml(view.ignored)} upstream message(s) ignored · updated ${escapeHtml(view.updatedAt ?? "never")} · version <span id="seq">${escapeHtml(view.seq)}</span></p>`;
}

/** Applies the server's updates: the content is rendered (and escaped) by the server, the script only swaps it in. */
const SCRIPT = `(() => {
  const live = document.getElementById("live");
  const content = document.getElementById("content");
  const source = new EventSource("events");
  source.addEventListener("update", (event) => {
    const update = JSON.parse(event.data);
    if (Number(update.seq) <= Number(document.body.dataset.seq)) return;
    content.innerHTML = update.html;
    document.body.dataset.seq = String(update.seq);
  });
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "badge pass"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "badge wait"; });
})();`;

const SCRIPT_HASH = `sha256-${createHash("sha256").update(SCRIPT).digest("base64")}`;

/** Only our own script, styles inline, event stream and links to the same origin: nothing a message could smuggle in runs. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; script-src '${SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 2em 2em; color: #212121; background: #fff; }
header { display: flex; align-items: center; gap: 1em; border-bottom: 1px solid #ddd; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 1.5em; } h3 { font-size: 15px; margin: .3em 0; }
section { border: 1px solid #ddd; border-radius: 6px; padding: .5em 1em; margin: .5em 0; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
.badge.fail { background: #c62828; } .badge.pass { background: #2e7d32; } .badge.wait { background: #ef6c00; }
.badge.busy { background: #1565c0; } .badge.idle { background: #757575; }
.muted { color: #757575; } .error { color: #c62828; }
table { border-collapse: collapse; margin: .3em 0; } td, th { border-bottom: 1px solid #eee; padding: 2px 8px; text-align: left; vertical-align: top; }
.note { max-width: 40em; overflow-wrap: anywhere; } .compose { margin: .5em 0 .5em 1em; } .gate { margin: .3em 0; }
code { background: #f5f5f5; padding: 0 3px; }
`;

/** The whole page, as first served. */
export function renderPage(view: PageView, title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} dashboard</title><style>${STYLE}</style></head>
<body data-seq="${escapeHtml(view.seq)}"><header><h1>${escapeHtml(title)}</h1><span id="live" class="badge idle">connecting</span></header>
<main id="content">${renderContent(view)}</main>
<script>${SCRIPT}</script></body></html>
`;
}
