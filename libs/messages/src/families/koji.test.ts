import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { clone, fixture } from "../fixtures.test-helper.js";
import {
  KOJI_BUILD_STATE,
  KojiBuildStateChange,
  KojiBuildStateChangeMessage,
  kojiBuildStateName,
  KojiTag,
  KojiTagMessage,
  kojiTagPriority,
} from "./koji.js";

const completeBuild = fixture("buildsys.build.state.change.json").body;
const packitBuild = fixture("buildsys.build.state.change.packit-rawhide.json").body;
const tagged = fixture("buildsys.tag.json").body;

describe("koji build states", () => {
  it("are koji's BUILD_STATES", () => {
    expect(KOJI_BUILD_STATE).toEqual({ BUILDING: 0, COMPLETE: 1, DELETED: 2, FAILED: 3, CANCELED: 4 });
    expect(kojiBuildStateName(1)).toBe("COMPLETE");
    expect(kojiBuildStateName(4)).toBe("CANCELED");
  });
});

describe("buildsys.build.state.change", () => {
  it("parses the real message with its nested task tree", () => {
    const body = KojiBuildStateChange.parse(completeBuild);
    expect(body.new).toBe(KOJI_BUILD_STATE.CANCELED);
    expect(body.task?.children?.map((c) => c.label)).toEqual(["s390x", "ppc64le", "srpm", "x86_64", "aarch64"]);
    expect(body.task?.children?.[2]?.result).toMatchObject({ srpm: "tasks/4050/139004050/prusa-slicer-2.9.4-1.fc44.src.rpm" });
  });

  it("accepts the older message without `task`", () => {
    expect("task" in packitBuild).toBe(false);
    const result = validateBody(KojiBuildStateChangeMessage, packitBuild);
    expect(result.ok).toBe(true);
  });

  it("accepts null where koji sends null", () => {
    const body = {
      ...clone(packitBuild),
      build_id: null,
      owner: null,
      old: null,
      task_id: null,
      task: null,
      epoch: 1,
      request: null,
      completion_time: null,
    };
    expect(validateBody(KojiBuildStateChangeMessage, body).ok).toBe(true);
  });

  it("rejects unknown states and missing required fields by path", () => {
    const body = clone(packitBuild);
    body.new = 7;
    delete body.creation_time;
    const result = validateBody(KojiBuildStateChangeMessage, body);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["new", "creation_time"]);
  });

  it("checks the task tree at any depth", () => {
    const body = clone(completeBuild) as { task: { children: { id: unknown }[] } };
    body.task.children[3] = { ...body.task.children[3], id: "139004153" };
    const result = validateBody(KojiBuildStateChangeMessage, body);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["task.children.3.id"]);
  });

  it("derives owner, package and summary like BuildStateChangeV1", () => {
    const body = KojiBuildStateChange.parse(packitBuild);
    expect(KojiBuildStateChangeMessage.usernames?.(body)).toEqual(["packit"]);
    expect(KojiBuildStateChangeMessage.packages?.(body)).toEqual(["python-ogr"]);
    expect(KojiBuildStateChangeMessage.agentName?.(body)).toBe("packit");
    expect(KojiBuildStateChangeMessage.summary?.(body)).toBe("Build COMPLETE: packit's python-ogr-0.34.0-1.fc36");
    expect(KojiBuildStateChangeMessage.usernames?.({ ...body, owner: null })).toEqual([]);
  });
});

describe("buildsys.tag", () => {
  it("derives users, package, summary and DEBUG severity like TagV1", () => {
    const body = KojiTag.parse(tagged);
    expect(KojiTagMessage.severity).toBe(10);
    expect(KojiTagMessage.usernames?.(body)).toEqual(["nforro"]);
    expect(KojiTagMessage.usernames?.({ ...body, owner: "someone" })).toEqual(["nforro", "someone"]);
    expect(KojiTagMessage.packages?.(body)).toEqual(["python-specfile"]);
    expect(KojiTagMessage.agentName?.(body)).toBe("nforro");
    expect(KojiTagMessage.summary?.(body)).toBe("python-specfile-0.31.0-1.fc40 was tagged into f40-build-side-12345 by nforro");
  });

  it("lowers the priority of mass rebuilds and ELN", () => {
    expect(kojiTagPriority("f41-rebuild")).toBe(0);
    expect(kojiTagPriority("eln")).toBe(1);
    expect(kojiTagPriority("eln-build")).toBe(1);
    expect(kojiTagPriority("f40-updates-candidate")).toBe(2);
    expect(kojiTagPriority(null)).toBe(2);
  });

  it("requires the build identity and the tag", () => {
    const result = validateBody(KojiTagMessage, { build_id: 1, name: "x", version: "1" });
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["release", "tag"]);
  });
});
