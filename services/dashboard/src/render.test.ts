import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildMember, changeSetQueued, COMMIT, composeComplete, decision, failedRequirement, result } from "./fixtures.test-helper.js";
import { emptyState, reduce, type ProjectionInput } from "./projection.js";
import { CONTENT_SECURITY_POLICY, escapeHtml, link, renderPage } from "./render.js";
import { pageView } from "./view.js";

const msg = (topic: string, body: unknown): ProjectionInput => ({ topic: `org.atomic-ci.dev.${topic}`, body });

describe("escaping", () => {
  it("escapes markup and quotes", () => {
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
  });

  it("links only http(s) URLs", () => {
    expect(link("https://ci.example.org/log?a=1&b=2", "log")).toBe('<a href="https://ci.example.org/log?a=1&amp;b=2" rel="noopener noreferrer">log</a>');
    expect(link("javascript:alert(1)", "log")).toBe("log");
    expect(link("data:text/html,<b>x</b>", "<log>")).toBe("&lt;log&gt;");
    expect(link("/srv/logs/x.txt", "log")).toBe("log");
    expect(link('https://x.example/"><script>', "log")).not.toContain("<script>");
  });
});

describe("renderPage", () => {
  const hostile = "<script>window.pwned=1</script>";
  const members = [{ ...buildMember("podman-5.3.0-1.fc41"), package: hostile, nvr: `${hostile}-1-1.fc41` }];
  const cs = changeSetQueued(members);
  const id = cs.change_set_id;
  const state = [
    msg("pipeline.change-set.queued", cs),
    msg("pipeline.compose.complete", composeComplete(id)),
    msg("resultsdb.result.new", { ...result(id, "podman", "FAILED", 7), ref_url: "javascript:alert(1)", note: `<img src=x onerror=alert(1)>` }),
    msg("greenwave.decision.update", decision(COMMIT, false, [{ ...failedRequirement(COMMIT, "podman"), testcase: `atomic-ci.${hostile}.tests.functional` }])),
  ].reduce((s, m) => reduce(s, m), emptyState());
  const html = renderPage(pageView(state), `atomic-ci <b>`);

  it("renders untrusted message data as text, never as markup", () => {
    // The one script element is our own.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("javascript:");
    expect(html).toContain("&lt;script&gt;window.pwned=1&lt;/script&gt;-1-1.fc41");
    expect(html).toContain("<title>atomic-ci &lt;b&gt; dashboard</title>");
  });

  it("pins its inline script by hash in the Content-Security-Policy", () => {
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    const hash = createHash("sha256").update(script).digest("base64");
    expect(CONTENT_SECURITY_POLICY).toContain(`script-src 'sha256-${hash}'`);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
  });

  it("shows the stage, the failing requirement in plain words and the test with its state", () => {
    expect(html).toContain('data-stage="gate failed"');
    expect(html).toContain(`test atomic-ci.&lt;script&gt;window.pwned=1&lt;/script&gt;.tests.functional failed on compose ${COMMIT.slice(0, 12)}`);
    expect(html).toContain('<span class="badge fail">failed</span>');
  });
});
