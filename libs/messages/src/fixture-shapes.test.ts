import { describe, expect, it } from "vitest";
import { fixtureFromJson } from "./fixture-shapes.js";
import { loadAllFixtures } from "./fixtures.test-helper.js";

describe("loadFedoraFixtures", () => {
  const fixtures = loadAllFixtures();
  const byFile = new Map(fixtures.map((f) => [f.file, f]));

  it("loads every message file (not the schemas directory), sorted", () => {
    expect(fixtures.map((f) => f.file)).toEqual([
      "bodhi.update.comment.json",
      "bodhi.update.request.testing.json",
      "bodhi.update.status.testing.koji-build-group.build.complete.json",
      "buildsys.build.state.change.json",
      "buildsys.build.state.change.packit-rawhide.json",
      "buildsys.tag.json",
      "ci.koji-build.test.complete.template.json",
      "ci.koji-build.test.error.template.json",
      "ci.koji-build.test.queued.template.json",
      "ci.koji-build.test.running.template.json",
      "git.receive.json",
      "greenwave.decision.update.fedmsg-2018.json",
      "greenwave.decision.update.json",
      "pagure.pull-request.new.json",
      "pagure.pull-request.updated.json",
      "pungi.compose.status.change.json",
      "resultsdb.result.new.json",
      "resultsdb.result.new.stg-2019.json",
    ]);
  });

  it("takes a fedora-messaging dump's body, topic and headers", () => {
    const koji = byFile.get("buildsys.build.state.change.json");
    expect(koji?.shape).toBe("fm-dump");
    expect(koji?.topic).toBe("org.fedoraproject.prod.buildsys.build.state.change");
    expect(koji?.body.build_id).toBe(2860061);
    expect(koji?.headers?.fedora_messaging_schema).toBe("koji_fedoramessaging.build.BuildStateChangeV1");
  });

  it("takes a fedmsg envelope's msg as the body", () => {
    const git = byFile.get("git.receive.json");
    expect(git?.shape).toBe("fedmsg-envelope");
    expect(git?.topic).toBe("org.fedoraproject.prod.git.receive");
    expect(Object.keys(git?.body ?? {})).toEqual(["commit"]);
    expect(git?.headers).toBeUndefined();
  });

  it("drops the topic key of a packit event", () => {
    const pr = byFile.get("pagure.pull-request.new.json");
    expect(pr?.shape).toBe("packit-event");
    expect(pr?.topic).toBe("org.fedoraproject.prod.pagure.pull-request.new");
    expect(Object.keys(pr?.body ?? {}).sort()).toEqual(["agent", "pullrequest"]);
  });

  it("reads a bare body's topic from its file name, splitting off a variant", () => {
    expect(byFile.get("greenwave.decision.update.json")).toMatchObject({ shape: "body", topic: "greenwave.decision.update" });
    expect(byFile.get("greenwave.decision.update.json")?.variant).toBeUndefined();
    expect(byFile.get("resultsdb.result.new.stg-2019.json")).toMatchObject({
      topic: "resultsdb.result.new",
      variant: "stg-2019",
    });
    expect(byFile.get("ci.koji-build.test.error.template.json")).toMatchObject({
      topic: "ci.koji-build.test.error",
      variant: "template",
    });
    expect(byFile.get("bodhi.update.status.testing.koji-build-group.build.complete.json")?.topic).toBe(
      "bodhi.update.status.testing.koji-build-group.build.complete",
    );
  });
});

describe("fixtureFromJson", () => {
  it("uses the given topics to split a file name, and the whole name when none fits", () => {
    expect(fixtureFromJson("a.b.c.json", {}, { knownTopics: ["a.*"] })).toMatchObject({ topic: "a.b", variant: "c" });
    expect(fixtureFromJson("x.y.json", {}, { knownTopics: ["a.*"] })).toMatchObject({ topic: "x.y" });
    expect(fixtureFromJson("x.y.template.json", {}, { knownTopics: [] })).toMatchObject({
      topic: "x.y",
      variant: "template",
    });
  });

  it("refuses a file that is not a JSON object", () => {
    expect(() => fixtureFromJson("list.json", [1])).toThrow(/list\.json/);
  });
});
