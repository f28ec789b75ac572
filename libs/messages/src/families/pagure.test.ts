import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { clone, fixture } from "../fixtures.test-helper.js";
import {
  PagurePullRequestEvent,
  PagurePullRequestNewMessage,
  PagurePullRequestUpdatedMessage,
  pullRequestRef,
} from "./pagure.js";

const opened = fixture("pagure.pull-request.new.json").body;
const updated = fixture("pagure.pull-request.updated.json").body;

describe("pagure pull requests", () => {
  it("give the target repository, branch, head commit and fork", () => {
    expect(pullRequestRef(PagurePullRequestEvent.parse(opened))).toEqual({
      namespace: "rpms",
      repo: "optee_os",
      branch: "rawhide",
      id: 2,
      url: "https://src.fedoraproject.org/rpms/optee_os/pull-request/2",
      head: "889f07af35d27bbcaf9c535c17a63b974aa42ee3",
      fork: "forks/zbyszek/rpms/optee_os",
    });
    expect(pullRequestRef(PagurePullRequestEvent.parse(updated))).toMatchObject({
      repo: "marshalparser",
      branch: "f40",
      head: "f2f041328d629719c5ff31a08e800638d5df497f",
    });
  });

  it("derive users and summaries like pagure-messages", () => {
    const body = PagurePullRequestEvent.parse(updated);
    expect(PagurePullRequestUpdatedMessage.usernames?.(body)).toEqual(["lbalhar", "pagure"]);
    expect(PagurePullRequestUpdatedMessage.summary?.(body)).toBe("pagure updated the pull-request rpms/marshalparser#32");
    const assigned = clone(body);
    assigned.pullrequest.assignee = { name: "zuul", fullname: "Zuul", url_path: "user/zuul" };
    expect(PagurePullRequestUpdatedMessage.usernames?.(assigned)).toEqual(["lbalhar", "pagure", "zuul"]);
    expect(PagurePullRequestNewMessage.summary?.(PagurePullRequestEvent.parse(opened))).toBe(
      "zbyszek opened a pull-request rpms/optee_os#2: Only build on aarch64",
    );
  });

  it("report missing project fields by path", () => {
    const body = clone(opened) as { pullrequest: { project: Record<string, unknown> } };
    delete body.pullrequest.project.namespace;
    body.pullrequest.project.id = "66326";
    const result = validateBody(PagurePullRequestNewMessage, body);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual([
      "pullrequest.project.id",
      "pullrequest.project.namespace",
    ]);
  });
});
