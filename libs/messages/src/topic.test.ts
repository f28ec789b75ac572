import { describe, expect, it } from "vitest";
import { prefixTopic, topicHasSuffix, topicMatches } from "./topic.js";

describe("topicMatches", () => {
  it("matches literal topics word by word", () => {
    expect(topicMatches("buildsys.tag", "buildsys.tag")).toBe(true);
    expect(topicMatches("buildsys.tag", "buildsys.untag")).toBe(false);
    expect(topicMatches("buildsys.tag", "buildsys.tag.extra")).toBe(false);
    expect(topicMatches("buildsys.tag.extra", "buildsys.tag")).toBe(false);
  });

  it("lets * stand for exactly one word", () => {
    expect(topicMatches("ci.*.test.complete", "ci.koji-build.test.complete")).toBe(true);
    expect(topicMatches("ci.*.test.complete", "ci.test.complete")).toBe(false);
    expect(topicMatches("ci.*.test.complete", "ci.koji.build.test.complete")).toBe(false);
    expect(topicMatches("*", "")).toBe(true);
    expect(topicMatches("*", "a.b")).toBe(false);
  });

  it("lets # stand for zero or more words", () => {
    expect(topicMatches("#", "anything.at.all")).toBe(true);
    expect(topicMatches("#.buildsys.tag", "buildsys.tag")).toBe(true);
    expect(topicMatches("#.buildsys.tag", "org.fedoraproject.prod.buildsys.tag")).toBe(true);
    expect(topicMatches("org.#", "org")).toBe(true);
    expect(topicMatches("org.#.tag", "org.a.b.c.tag")).toBe(true);
    expect(topicMatches("org.#.tag", "org.a.b.c.untag")).toBe(false);
    expect(topicMatches("#.#.tag", "tag")).toBe(true);
    expect(topicMatches("#.*.tag", "tag")).toBe(false);
    expect(topicMatches("#.*.tag", "x.tag")).toBe(true);
  });
});

describe("prefixTopic", () => {
  it("joins a prefix like fedora-messaging (trailing dots stripped)", () => {
    expect(prefixTopic("org.fedoraproject.prod", "buildsys.tag")).toBe("org.fedoraproject.prod.buildsys.tag");
    expect(prefixTopic("org.centos.prod.", "ci.koji-build.test.complete")).toBe(
      "org.centos.prod.ci.koji-build.test.complete",
    );
    expect(prefixTopic(undefined, "buildsys.tag")).toBe("buildsys.tag");
    expect(prefixTopic("", "buildsys.tag")).toBe("buildsys.tag");
  });
});

describe("topicHasSuffix", () => {
  it("finds a schema topic at the end of a prefixed routing key", () => {
    expect(topicHasSuffix("buildsys.tag", "org.fedoraproject.prod.buildsys.tag")).toBe(true);
    expect(topicHasSuffix("buildsys.tag", "buildsys.tag")).toBe(true);
    expect(topicHasSuffix("ci.*.test.error", "org.centos.prod.ci.productmd-compose.test.error")).toBe(true);
  });

  it("does not match a topic in the middle or a partial word", () => {
    expect(topicHasSuffix("buildsys.tag", "org.fedoraproject.prod.buildsys.tag.more")).toBe(false);
    expect(topicHasSuffix("buildsys.tag", "org.fedoraproject.prod.xbuildsys.tag")).toBe(false);
    expect(topicHasSuffix("buildsys.tag", "org.fedoraproject.prod.buildsys.untag")).toBe(false);
  });
});
