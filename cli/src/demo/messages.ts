import { KOJI_BUILD_STATE } from "@atomic-ci/messages";

/**
 * What the demo sends: messages shaped exactly like Fedora's (the same schemas as the
 * captured fixtures), for packages of the host, and a few broken ones to show that bad
 * input is dead-lettered with a reason while the service goes on.
 */
export interface DemoMessage {
  label: string;
  topic: string;
  /** A valid body, published through the bus (validated on publish). */
  body?: unknown;
  /** Raw bytes sent past validation, as a misbehaving publisher would. */
  raw?: { body: string; contentType: string };
}

const kojiBuild = {
  build_id: 2861234,
  old: KOJI_BUILD_STATE.BUILDING,
  name: "ostree",
  task_id: 139012345,
  attribute: "state",
  request: ["git+https://src.fedoraproject.org/rpms/ostree.git#6c5b4a3", "f41-candidate", { scratch: false }],
  instance: "primary",
  version: "2024.8",
  owner: "walters",
  new: KOJI_BUILD_STATE.COMPLETE,
  release: "1.fc41",
  epoch: null,
  callback_id: 480012,
  creation_time: "2026-11-26T09:01:12.301557+00:00",
  completion_time: "2026-11-26T09:09:48.112094+00:00",
};

export const DEMO_MESSAGES: readonly DemoMessage[] = [
  { label: "Koji build ostree-2024.8-1.fc41 COMPLETE", topic: "buildsys.build.state.change", body: kojiBuild },
  {
    label: "Koji tag ostree-2024.8-1.fc41 into f41-updates-candidate",
    topic: "buildsys.tag",
    body: { build_id: 2861234, name: "ostree", version: "2024.8", release: "1.fc41", tag: "f41-updates-candidate", tag_id: 5012, user: "bodhi", owner: "walters", instance: "primary" },
  },
  {
    label: "dist-git push to rpms/ostree touching tests/",
    topic: "git.receive",
    body: {
      agent: "walters",
      commit: {
        agent: "walters",
        branch: "f41",
        date: "2026-11-26T09:12:00+00:00",
        email: "walters@example.org",
        message: "tests: add a smoke test for ostree admin status\n",
        name: "Colin Walters",
        namespace: "rpms",
        patch: "",
        path: "/srv/git/repositories/rpms/ostree.git",
        repo: "ostree",
        rev: "6c5b4a3e2d1f00112233445566778899aabbccdd",
        seen: false,
        stats: { files: { "tests/tests.yml": { additions: 12, deletions: 0, lines: 12 } }, total: { additions: 12, deletions: 0, files: 1, lines: 12 } },
        summary: "tests: add a smoke test for ostree admin status",
        username: "walters",
      },
    },
  },
  { label: "a body that is not JSON", topic: "buildsys.build.state.change", raw: { body: "{build_id: 1,", contentType: "application/json" } },
  { label: "a JSON array instead of an object", topic: "buildsys.tag", raw: { body: "[1, 2, 3]", contentType: "application/json" } },
  { label: "a Koji message with a state that does not exist", topic: "buildsys.build.state.change", raw: { body: JSON.stringify({ ...kojiBuild, new: "DONE" }), contentType: "application/json" } },
  { label: "plain text sent as a message", topic: "git.receive", raw: { body: "pushed!", contentType: "text/plain" } },
];
