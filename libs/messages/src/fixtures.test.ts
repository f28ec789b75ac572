// Every real message in the shared fixtures validates against the schema a receiver would pick.
import { describe, expect, it } from "vitest";
import { filterHeaders, schemaHeaders } from "./headers.js";
import { defaultRegistry } from "./registry.js";
import { validateBody } from "./validate.js";
import { fixture, loadAllFixtures } from "./fixtures.test-helper.js";

const EXPECTED_SCHEMA: Record<string, string> = {
  "bodhi.update.comment.json": "bodhi.update.comment.v1",
  "bodhi.update.request.testing.json": "bodhi.update.request.testing.v1",
  "bodhi.update.status.testing.koji-build-group.build.complete.json": "bodhi.update.status.testing.v3",
  "buildsys.build.state.change.json": "koji_fedoramessaging.build.BuildStateChangeV1",
  "buildsys.build.state.change.packit-rawhide.json": "koji_fedoramessaging.build.BuildStateChangeV1",
  "buildsys.tag.json": "koji_fedoramessaging.tag.TagV1",
  "git.receive.json": "fedora_messaging_git_hook.commit.v1",
  "greenwave.decision.update.fedmsg-2018.json": "atomic_ci.greenwave.DecisionUpdateV1",
  "greenwave.decision.update.json": "atomic_ci.greenwave.DecisionUpdateV1",
  "pagure.pull-request.new.json": "pagure.pull-request.new",
  "pagure.pull-request.updated.json": "pagure.pull-request.updated",
  "pungi.compose.status.change.json": "atomic_ci.pungi.ComposeStatusChangeV1",
  "resultsdb.result.new.json": "atomic_ci.resultsdb.ResultNewV1",
  "resultsdb.result.new.stg-2019.json": "atomic_ci.resultsdb.ResultNewV1",
};

const realMessages = loadAllFixtures().filter((f) => f.variant !== "template");

describe("real Fedora messages", () => {
  it("are all covered here", () => {
    expect(realMessages.map((f) => f.file).sort()).toEqual(Object.keys(EXPECTED_SCHEMA).sort());
  });

  for (const message of realMessages) {
    it(`${message.file} (${message.shape}) validates against ${EXPECTED_SCHEMA[message.file] ?? "?"}`, () => {
      const header = message.headers?.fedora_messaging_schema;
      const schema = defaultRegistry.resolve({
        schemaHeader: typeof header === "string" ? header : undefined,
        topic: message.topic,
      });
      expect(schema.name).toBe(EXPECTED_SCHEMA[message.file]);
      const result = validateBody(schema, message.body);
      expect(result.ok ? [] : result.issues).toEqual([]);
      expect(schema.summary?.(result.ok ? result.value : undefined)).toMatch(/\S/);
    });
  }
});

describe("headers derived from a body", () => {
  it("reproduce the user and rpm headers of the real koji message exactly", () => {
    const koji = fixture("buildsys.build.state.change.json");
    const schema = defaultRegistry.resolve({ topic: koji.topic });
    const result = validateBody(schema, koji.body);
    if (!result.ok) throw new Error("fixture must validate");
    const expected = Object.fromEntries(
      Object.entries(koji.headers ?? {}).filter(([key]) => /^fedora_messaging_(user|rpm)_/.test(key)),
    );
    expect(expected).toEqual({ "fedora_messaging_rpm_prusa-slicer": true, fedora_messaging_user_spot: true });
    expect(filterHeaders(schema, result.value)).toEqual(expected);
  });

  it("reproduce every fedora_messaging_* header of the real koji message", () => {
    const koji = fixture("buildsys.build.state.change.json");
    const schema = defaultRegistry.resolve({ topic: koji.topic });
    const result = validateBody(schema, koji.body);
    if (!result.ok) throw new Error("fixture must validate");
    const { ["sent-at"]: _sentAt, priority: _priority, ...rest } = koji.headers ?? {};
    expect(schemaHeaders(schema, result.value)).toEqual(rest);
  });

  it("reproduce the koji tag message's headers, severity DEBUG and priority 2", () => {
    const tag = fixture("buildsys.tag.json");
    const schema = defaultRegistry.resolve({ topic: tag.topic });
    const result = validateBody(schema, tag.body);
    if (!result.ok) throw new Error("fixture must validate");
    expect(schemaHeaders(schema, result.value)).toEqual({
      fedora_messaging_schema: "koji_fedoramessaging.tag.TagV1",
      fedora_messaging_schema_package: "koji_fedoramessaging_messages",
      fedora_messaging_severity: tag.headers?.fedora_messaging_severity,
      "fedora_messaging_rpm_python-specfile": true,
      fedora_messaging_user_nforro: true,
    });
    expect(schema.priority?.(result.value)).toBe(tag.headers?.priority);
  });

  it("skip a header whose property cannot be read from the body", () => {
    const schema = defaultRegistry.byName("koji_fedoramessaging.build.BuildStateChangeV1");
    if (!schema) throw new Error("schema must exist");
    expect(filterHeaders(schema, null)).toEqual({});
  });
});
