import { topicMatches } from "@atomic-ci/messages";
import { describe, expect, it } from "vitest";
import {
  bindingToSubjects,
  deadLetterSubject,
  durableName,
  intersectSubjects,
  isPublishableSubject,
  isSubsetSubject,
  translateBindings,
} from "./subjects.js";

/** NATS's own match of a literal subject against a filter. */
const natsMatches = (filter: string, subject: string) => isSubsetSubject(subject, filter);

const TOPICS = ["a", "a.b", "a.b.c", "a.x.c", "a.b.c.d", "ab", "b", "b.c", "x.a.b", "c", "a.c", "org.a", "org.a.b", "ci.z"];

describe("bindingToSubjects", () => {
  it.each([
    ["a.b", ["a.b"], true],
    ["a.*", ["a.*"], true],
    ["*.b.*", ["*.b.*"], true],
    ["a.#", ["a.>", "a"], true],
    ["a.#.#", ["a.>", "a"], true],
    ["#", [">"], true],
    ["a.#.c", ["a.>"], false],
    ["#.c", [">"], false],
    ["a.*.#.d", ["a.*.>"], false],
    ["a b.c", ["*.c"], false],
    ["a..c", ["a.*.c"], false],
  ])("%s → %j (exact: %s)", (pattern, subjects, exact) => {
    expect(bindingToSubjects(pattern)).toEqual({ subjects, exact });
  });

  it("`a.#` matches `a` in AMQP, and so does its translation", () => {
    expect(topicMatches("a.#", "a")).toBe(true);
    expect(bindingToSubjects("a.#").subjects.some((s) => natsMatches(s, "a"))).toBe(true);
    // NATS's `a.>` alone would miss it: that is why the bare prefix is added.
    expect(natsMatches("a.>", "a")).toBe(false);
  });

  it.each(["a.b", "a.*", "a.#", "#", "a.#.c", "#.c", "*.b.#", "a.*.#.d", "#.b.#"])("never misses a topic `%s` matches, and is exact when it says so", (pattern) => {
    const { subjects, exact } = bindingToSubjects(pattern);
    for (const topic of TOPICS) {
      const amqp = topicMatches(pattern, topic);
      const nats = subjects.some((s) => natsMatches(s, topic));
      if (amqp) expect(nats, topic).toBe(true);
      if (exact) expect(nats, topic).toBe(amqp);
    }
  });
});

describe("subject algebra", () => {
  it("intersects patterns", () => {
    expect(intersectSubjects("*.fedoraproject.>", "org.>")).toBe("org.fedoraproject.>");
    expect(intersectSubjects(">", "org.>")).toBe("org.>");
    expect(intersectSubjects("a.*", "*.b")).toBe("a.b");
    expect(intersectSubjects("a.b", "a.c")).toBeUndefined();
    expect(intersectSubjects("a", "a.>")).toBeUndefined();
    expect(intersectSubjects("a.*", "a.b.c")).toBeUndefined();
  });

  it("tells subsets", () => {
    expect(isSubsetSubject("a.b", "a.*")).toBe(true);
    expect(isSubsetSubject("a.*", "a.b")).toBe(false);
    expect(isSubsetSubject("a.b.c", "a.>")).toBe(true);
    expect(isSubsetSubject("a", "a.>")).toBe(false);
    expect(isSubsetSubject("a.>", "a.*")).toBe(false);
  });

  it("knows what NATS can publish", () => {
    expect(isPublishableSubject("org.fedoraproject.prod.buildsys.tag")).toBe(true);
    expect(isPublishableSubject("a..b")).toBe(false);
    expect(isPublishableSubject("a.*")).toBe(false);
    expect(isPublishableSubject("a.b c")).toBe(false);
  });
});

describe("translateBindings", () => {
  const both = { streamSubjects: ["org.>", "ci.>"], multipleFilters: true };

  it("keeps exact, non-overlapping filters on servers with several filters", () => {
    expect(translateBindings(["org.x.#", "ci.*.test.complete"], both)).toEqual({ subjects: ["org.x.>", "org.x", "ci.*.test.complete"], exact: true });
  });

  it("narrows `#` to the stream's subjects", () => {
    expect(translateBindings(["#"], both)).toEqual({ subjects: ["org.>", "ci.>"], exact: true });
    expect(translateBindings(["*.fedoraproject.#"], both)).toEqual({
      subjects: ["org.fedoraproject.>", "ci.fedoraproject.>", "org.fedoraproject", "ci.fedoraproject"],
      exact: true,
    });
  });

  it("drops filters covered by others, and subjects the stream cannot hold", () => {
    // `org.#` also means `org`, but the stream captures `org.>` only: nothing is ever stored on `org`.
    expect(translateBindings(["org.a.b", "org.a.*", "org.#"], both)).toEqual({ subjects: ["org.>"], exact: true });
  });

  it("merges overlapping filters (JetStream refuses them) and marks the result inexact", () => {
    const result = translateBindings(["org.*.c", "org.b.*"], both);
    expect(result).toEqual({ subjects: ["org.*.*"], exact: false });
  });

  it("folds everything into one filter on servers before 2.10", () => {
    const single = { streamSubjects: ["org.>", "ci.>"], multipleFilters: false };
    expect(translateBindings(["org.a", "org.b"], single)).toEqual({ subjects: ["org.*"], exact: false });
    expect(translateBindings(["org.x.#"], single)).toEqual({ subjects: ["org.>"], exact: false });
    expect(translateBindings(["org.a.b"], single)).toEqual({ subjects: ["org.a.b"], exact: true });
    // No single filter inside the stream covers both: the whole stream, filtered in code.
    expect(translateBindings(["org.a", "ci.b"], single)).toEqual({ subjects: [], exact: false });
  });

  it("always covers what the bindings match (the transport filters the rest in code)", () => {
    const sets = [["a.#"], ["a.*.c", "a.b.*"], ["#.c", "a.b"], ["a.#.c"], ["*.a.#", "b.#"], ["org.#", "ci.#"]];
    for (const multipleFilters of [true, false]) {
      for (const bindings of sets) {
        const { subjects, exact } = translateBindings(bindings, { streamSubjects: [">"], multipleFilters });
        for (const topic of TOPICS) {
          const amqp = bindings.some((b) => topicMatches(b, topic));
          const nats = subjects.length === 0 || subjects.some((s) => natsMatches(s, topic));
          if (amqp) expect(nats, `${bindings.join(" ")} / ${topic}`).toBe(true);
          if (exact) expect(nats, `${bindings.join(" ")} / ${topic}`).toBe(amqp);
        }
      }
    }
  });
});

describe("names", () => {
  it("keeps valid durable names and maps the others deterministically, without collisions", () => {
    expect(durableName("ci-runner")).toBe("ci-runner");
    expect(durableName("ci_runner")).toBe("ci_runner");
    const dotted = durableName("atomic-ci.trigger");
    expect(dotted).toMatch(/^atomic-ci_trigger-[0-9a-f]{10}$/);
    expect(durableName("atomic-ci.trigger")).toBe(dotted);
    expect(dotted).not.toBe(durableName("atomic-ci_trigger"));
    expect(durableName("a*b>c d/e\\f")).toMatch(/^a_b_c_d_e_f-[0-9a-f]{10}$/);
    expect(durableName("x".repeat(300)).length).toBeLessThanOrEqual(191);
  });

  it("puts dead letters under the dead-letter prefix, dots kept as levels", () => {
    expect(deadLetterSubject("trigger.dead-letter")).toBe("atomic-ci.dead-letter.trigger.dead-letter");
    expect(deadLetterSubject("q..x*y", "dl")).toBe("dl.q.x_y");
    expect(isPublishableSubject(deadLetterSubject("a b.>.c"))).toBe(true);
  });
});
