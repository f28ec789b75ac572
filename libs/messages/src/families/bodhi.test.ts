import { describe, expect, it } from "vitest";
import { validateBody } from "../validate.js";
import { clone, fixture } from "../fixtures.test-helper.js";
import {
  bodhiBuildNvrs,
  BodhiUpdateComment,
  BodhiUpdateCommentMessage,
  BodhiUpdateReadyForTesting,
  BodhiUpdateReadyForTestingMessage,
  BodhiUpdateReadyForTestingV3,
  BodhiUpdateRequestTesting,
  BodhiUpdateRequestTestingMessage,
  isReadyForTestingV3,
} from "./bodhi.js";

const requestTesting = fixture("bodhi.update.request.testing.json").body;
const comment = fixture("bodhi.update.comment.json").body;
const readyV1 = fixture("bodhi.update.status.testing.koji-build-group.build.complete.json").body;

/** A V3 ready-for-testing body as Bodhi sends it today. */
const readyV3 = {
  agent: "bodhi",
  "re-trigger": false,
  artifact: {
    type: "koji-build-group",
    builds: [
      { type: "koji-build", id: 2196428, task_id: 100764422, nvr: "annobin-12.10-2.fc39" },
      { type: "koji-build", id: 2196430, task_id: null, nvr: "annobin-docs-12.10-2.fc39" },
    ],
  },
  update: {
    alias: "FEDORA-2023-1f3e17882f",
    builds: [{ nvr: "annobin-12.10-2.fc39" }, { nvr: "annobin-docs-12.10-2.fc39" }],
    release: { name: "F39", dist_tag: "f39" },
    request: "testing",
    status: "pending",
    user: { name: "nickc" },
  },
};

describe("bodhi.update.request.testing", () => {
  it("derives users, packages and summary like UpdateRequestTestingV1", () => {
    const body = BodhiUpdateRequestTesting.parse(requestTesting);
    expect(bodhiBuildNvrs(body)).toEqual(["gnome-settings-daemon-3.6.1-1.fc18", "control-center-3.6.1-1.fc18"]);
    expect(BodhiUpdateRequestTestingMessage.usernames?.(body)).toEqual(["hadess", "lmacken"]);
    expect(BodhiUpdateRequestTestingMessage.packages?.(body)).toEqual(["gnome-settings-daemon", "control-center"]);
    expect(BodhiUpdateRequestTestingMessage.summary?.(body)).toBe(
      "lmacken submitted hadess's update FEDORA-2019-f1ca3c00e5 (gnome-settings-daemon-3.6.1-1.fc18 contr…) to testing",
    );
    const own = { ...body, agent: "hadess" };
    expect(BodhiUpdateRequestTestingMessage.summary?.(own)).toMatch(/^hadess submitted their update /);
  });

  it("rejects a request outside Bodhi's enum at its path", () => {
    const body = clone(requestTesting) as { update: Record<string, unknown> };
    body.update.request = "later";
    delete body.update.user;
    const result = validateBody(BodhiUpdateRequestTestingMessage, body);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["update.request", "update.user"]);
  });
});

describe("bodhi.update.comment", () => {
  it("derives the commenter, mentioned users and the update owner", () => {
    const body = BodhiUpdateComment.parse(comment);
    expect(BodhiUpdateCommentMessage.agentName?.(body)).toBe("kalev");
    expect(BodhiUpdateCommentMessage.usernames?.(body)).toEqual(["kalev"]);
    expect(BodhiUpdateCommentMessage.packages?.(body)).toEqual(["xdg-desktop-portal"]);
    expect(bodhiBuildNvrs(body)).toEqual(["xdg-desktop-portal-1.4.2-1.fc30"]);
    expect(BodhiUpdateCommentMessage.summary?.(body)).toBe(
      "kalev commented on update xdg-desktop-portal-1.4.2-1.fc30 (karma: 0)",
    );
    const mentioning = clone(body);
    mentioning.comment.text = "ping @wtaymans and @hadess, not me@example.com";
    expect(BodhiUpdateCommentMessage.usernames?.(mentioning)).toEqual(["hadess", "kalev", "wtaymans"]);
  });
});

describe("bodhi.update.status.testing.koji-build-group.build.complete", () => {
  it("accepts the trimmed V1 message, which V3 alone rejects", () => {
    expect(validateBody(BodhiUpdateReadyForTestingMessage, readyV1).ok).toBe(true);
    const v3 = BodhiUpdateReadyForTestingV3.safeParse(readyV1);
    expect(v3.success ? [] : v3.error.issues.map((i) => i.path.join("."))).toEqual([
      "update.builds",
      "update.request",
      "update.status",
      "update.user",
    ]);
  });

  it("accepts the V3 shape", () => {
    const result = validateBody(BodhiUpdateReadyForTestingMessage, readyV3);
    expect(result.ok).toBe(true);
  });

  it("derives users and packages per shape, as V1 and V3 do", () => {
    const v1 = BodhiUpdateReadyForTesting.parse(readyV1);
    expect(isReadyForTestingV3(v1)).toBe(false);
    expect(BodhiUpdateReadyForTestingMessage.usernames?.(v1)).toEqual(["bodhi", "nickc"]);
    expect(BodhiUpdateReadyForTestingMessage.packages?.(v1)).toEqual(["annobin"]);
    expect(BodhiUpdateReadyForTestingMessage.summary?.(v1)).toBe(
      "Bodhi's annobin-12.10-2.fc39 bodhi update is ready for testing",
    );
    const v3 = BodhiUpdateReadyForTesting.parse(readyV3);
    expect(isReadyForTestingV3(v3)).toBe(true);
    expect(BodhiUpdateReadyForTestingMessage.usernames?.(v3)).toEqual(["bodhi", "nickc"]);
    expect(BodhiUpdateReadyForTestingMessage.packages?.(v3)).toEqual(["annobin", "annobin-docs"]);
    expect(BodhiUpdateReadyForTestingMessage.severity).toBe(10);
  });

  it("lists the builds to test together", () => {
    expect(bodhiBuildNvrs(BodhiUpdateReadyForTesting.parse(readyV1))).toEqual(["annobin-12.10-2.fc39"]);
    expect(bodhiBuildNvrs(BodhiUpdateReadyForTesting.parse(readyV3))).toEqual([
      "annobin-12.10-2.fc39",
      "annobin-docs-12.10-2.fc39",
    ]);
  });

  it("reports the V3 problem of a V3 body with a bad build", () => {
    const body = clone(readyV3);
    (body.artifact.builds[1] as Record<string, unknown>).id = "2196430";
    const result = validateBody(BodhiUpdateReadyForTestingMessage, body);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["artifact.builds.1.id"]);
  });
});
