import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FEDORA_FIXTURES, runCli } from "../support/cli.js";

const fixtures = readdirSync(FEDORA_FIXTURES).filter((f) => f.endsWith(".json"));
const templates = fixtures.filter((f) => f.includes(".template."));
const messages = fixtures.filter((f) => !f.includes(".template."));

/** Bare bodies carry no topic; their file name starts with it. */
function topicArgs(file: string): string[] {
  const bare: Record<string, string> = {
    "greenwave.decision.update.json": "greenwave.decision.update",
    "resultsdb.result.new.json": "resultsdb.result.new",
    "resultsdb.result.new.stg-2019.json": "resultsdb.result.new",
    "bodhi.update.request.testing.json": "bodhi.update.request.testing",
    "bodhi.update.status.testing.koji-build-group.build.complete.json": "bodhi.update.status.testing.koji-build-group.build.complete",
  };
  const ci = /^ci\.(.+)\.template\.json$/.exec(file);
  if (ci) return ["--topic", `org.centos.prod.ci.${ci[1] ?? ""}`];
  const topic = bare[file];
  return topic ? ["--topic", topic] : [];
}

// Each case is a CLI process of its own: run them side by side.
describe.concurrent("atomic-ci messages validate", () => {
  it("has fixtures to check", () => {
    expect(messages.length).toBeGreaterThanOrEqual(14);
    expect(templates).toHaveLength(4);
  });

  it.each(messages)("accepts the real Fedora message %s and names its schema", async (file) => {
    const r = await runCli(["messages", "validate", ...topicArgs(file), join(FEDORA_FIXTURES, file)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valid: \S+ \(topic /);
    expect(r.stdout).not.toContain("base.message");
  });

  it.each(templates)("rejects the empty CI template %s with the failing paths", async (file) => {
    const r = await runCli(["messages", "validate", ...topicArgs(file), join(FEDORA_FIXTURES, file)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^invalid: atomic_ci\.fedora_ci\.KojiBuildTest\w+V1/);
    expect(r.stdout).toContain("  artifact.nvr: ");
    expect(r.stdout).toContain("  contact.name: ");
  });

  it("names the schema as JSON with --json", async () => {
    const r = await runCli(["messages", "validate", "--json", join(FEDORA_FIXTURES, "buildsys.tag.json")]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, schema: "koji_fedoramessaging.tag.TagV1", topic: "org.fedoraproject.prod.buildsys.tag", shape: "fm-dump", issues: [] });
  });

  it("reports every failing field path of an invalid body", async () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-ci-validate-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ build_id: "x", name: "ostree", version: "1", release: "1", tag: 5 }));
    const r = await runCli(["messages", "validate", "--topic", "buildsys.tag", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("  build_id: ");
    expect(r.stdout).toContain("  tag: ");
  });

  it.each([
    ["a bare body without --topic", ["messages", "validate", "BODY"]],
    ["a missing file", ["messages", "validate", "--topic", "buildsys.tag", "/nonexistent/atomic-ci.json"]],
    ["an unknown option", ["messages", "validate", "--frobnicate", "BODY"]],
    ["no file", ["messages", "validate"]],
    ["publish without --topic", ["messages", "publish", "BODY"]],
    ["tail without --bind", ["messages", "tail"]],
    ["tail with a bad --count", ["messages", "tail", "--bind", "#", "--count", "zero"]],
  ])("exits 2 on a usage error: %s", async (_what, args) => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-ci-validate-"));
    const body = join(dir, "body.json");
    writeFileSync(body, JSON.stringify({ build_id: 1 }));
    const r = await runCli(args.map((a) => (a === "BODY" ? body : a)));
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeGreaterThan(0);
  });

  it("exits 2 for a file that is not JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-ci-validate-"));
    const file = join(dir, "not.json");
    writeFileSync(file, "{nope");
    const r = await runCli(["messages", "validate", "--topic", "buildsys.tag", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not JSON");
  });
});
