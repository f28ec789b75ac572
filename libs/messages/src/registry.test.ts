import { z } from "zod";
import { describe, expect, it } from "vitest";
import { BASE_MESSAGE, defaultRegistry, SchemaRegistry } from "./registry.js";
import { defineSchema } from "./schema.js";
import { validateBody } from "./validate.js";
import { MESSAGE_FAMILIES } from "./families/index.js";

const anyBody = z.looseObject({});
const wildcard = defineSchema({ name: "test.Wildcard", topic: "ci.*.test.complete", body: anyBody, description: "" });
const exact = defineSchema({ name: "test.Exact", topic: "ci.koji-build.test.complete", body: anyBody, description: "" });
const hash = defineSchema({ name: "test.Hash", topic: "ci.#", body: anyBody, description: "" });

describe("SchemaRegistry", () => {
  it("finds schemas by their fedora-messaging name", () => {
    expect(defaultRegistry.byName("koji_fedoramessaging.tag.TagV1")?.topic).toBe("buildsys.tag");
    expect(defaultRegistry.byName("bodhi.update.comment.v1")?.topic).toBe("bodhi.update.comment");
    expect(defaultRegistry.byName("no.such.Schema")).toBeUndefined();
  });

  it("maps a prefixed routing key to the schema whose topic ends it", () => {
    expect(defaultRegistry.forTopic("org.fedoraproject.prod.buildsys.tag")?.name).toBe("koji_fedoramessaging.tag.TagV1");
    expect(defaultRegistry.forTopic("org.fedoraproject.stg.buildsys.build.state.change")?.name).toBe(
      "koji_fedoramessaging.build.BuildStateChangeV1",
    );
    expect(defaultRegistry.forTopic("buildsys.tag")?.name).toBe("koji_fedoramessaging.tag.TagV1");
    expect(defaultRegistry.forTopic("org.centos.prod.ci.koji-build.test.complete")?.name).toBe(
      "atomic_ci.fedora_ci.KojiBuildTestCompleteV1",
    );
    expect(defaultRegistry.forTopic("org.centos.prod.ci.koji-build-group.test.error")?.name).toBe(
      "atomic_ci.fedora_ci.KojiBuildGroupTestErrorV1",
    );
    expect(defaultRegistry.forTopic("org.fedoraproject.prod.buildsys.untag")).toBeUndefined();
    expect(defaultRegistry.forTopic("org.fedoraproject.prod.buildsys.tag.extra")).toBeUndefined();
  });

  it("prefers the most specific matching topic, whatever the registration order", () => {
    const registry = new SchemaRegistry([hash, wildcard, exact]);
    expect(registry.forTopic("org.centos.prod.ci.koji-build.test.complete")?.name).toBe("test.Exact");
    expect(registry.forTopic("org.centos.prod.ci.productmd-compose.test.complete")?.name).toBe("test.Wildcard");
    expect(registry.forTopic("ci.productmd-compose.test.queued")?.name).toBe("test.Hash");
    expect(new SchemaRegistry([exact, wildcard, hash]).forTopic("ci.koji-build.test.complete")?.name).toBe(
      "test.Exact",
    );
  });

  it("resolves by header first, then by topic, then to the base message", () => {
    const tag = "org.fedoraproject.prod.buildsys.tag";
    expect(defaultRegistry.resolve({ schemaHeader: "koji_fedoramessaging.tag.TagV1", topic: tag }).name).toBe(
      "koji_fedoramessaging.tag.TagV1",
    );
    // A known header wins even when the topic says otherwise.
    expect(defaultRegistry.resolve({ schemaHeader: "bodhi.update.comment.v1", topic: tag }).name).toBe(
      "bodhi.update.comment.v1",
    );
    expect(defaultRegistry.resolve({ schemaHeader: "koji_fedoramessaging.tag.TagV99", topic: tag }).name).toBe(
      "koji_fedoramessaging.tag.TagV1",
    );
    expect(defaultRegistry.resolve({ topic: tag }).name).toBe("koji_fedoramessaging.tag.TagV1");
    expect(defaultRegistry.resolve({ schemaHeader: "unknown.Schema", topic: "org.example.unknown" })).toBe(BASE_MESSAGE);
    expect(defaultRegistry.resolve({ topic: "org.example.unknown" }).name).toBe("base.message");
  });

  it("rejects two schemas with the same name", () => {
    expect(() => new SchemaRegistry([exact, { ...wildcard, name: "test.Exact" }])).toThrow(/duplicate.*test\.Exact/);
  });

  it("holds every family's schemas, each name once", () => {
    const names = defaultRegistry.all().map((s) => s.name);
    expect(names).toHaveLength(41);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(MESSAGE_FAMILIES.flatMap((f) => f.schemas.map((s) => s.name)));
    expect(MESSAGE_FAMILIES.map((f) => f.id)).toEqual([
      "koji",
      "dist-git",
      "bodhi",
      "pagure",
      "pungi",
      "fedora-ci",
      "resultsdb",
      "waiverdb",
      "greenwave",
      "pipeline",
      "pipeline-image",
      "pipeline-release",
    ]);
  });
});

describe("BASE_MESSAGE", () => {
  it("accepts any JSON object and nothing else", () => {
    expect(validateBody(BASE_MESSAGE, { anything: [1, "two"] }).ok).toBe(true);
    expect(validateBody(BASE_MESSAGE, {}).ok).toBe(true);
    expect(validateBody(BASE_MESSAGE, [1, 2])).toMatchObject({ ok: false, issues: [{ path: "(root)" }] });
    expect(validateBody(BASE_MESSAGE, "text")).toMatchObject({ ok: false, issues: [{ path: "(root)" }] });
    expect(validateBody(BASE_MESSAGE, null).ok).toBe(false);
  });

  it("is named like fedora-messaging's fallback and matches every topic", () => {
    expect(BASE_MESSAGE.name).toBe("base.message");
    expect(BASE_MESSAGE.topic).toBe("#");
  });
});
