import { describe, expect, it } from "vitest";
import { defaultRegistry } from "../registry.js";
import { validateBody, type ValidationResult } from "../validate.js";
import { clone, fixture } from "../fixtures.test-helper.js";
import {
  ciTestTopic,
  KojiBuildGroupTestCompleteMessage,
  KojiBuildTestComplete,
  KojiBuildTestCompleteMessage,
  KojiBuildTestErrorMessage,
  KojiBuildTestQueuedMessage,
  KojiBuildTestRunningMessage,
  ProductmdComposeTestErrorMessage,
  ProductmdComposeTestQueuedMessage,
  testCaseName,
} from "./fedora-ci.js";

const STATES = ["queued", "running", "complete", "error"] as const;
const template = (state: (typeof STATES)[number]) => fixture(`ci.koji-build.test.${state}.template.json`).body;

/** Paths every empty template fails on: each is a required value left empty or of the wrong type. */
const COMMON_REJECTED = [
  "contact.name",
  "contact.team",
  "contact.docs",
  "run.url",
  "run.log",
  "artifact.type",
  "artifact.id",
  "artifact.component",
  "artifact.issuer",
  "artifact.nvr",
  "pipeline.id",
  "pipeline.name",
  "test.category",
  "test.namespace",
  "test.type",
  "generated_at",
  "version",
];

function paths(result: ValidationResult<unknown>): string[] {
  return result.ok ? [] : result.issues.map((i) => i.path).sort();
}

/** The template with the values Fedora CI's pipeline would fill in. */
function filled(state: (typeof STATES)[number]): Record<string, unknown> {
  const body = clone(template(state)) as Record<string, Record<string, unknown>>;
  Object.assign(body.contact ?? {}, {
    name: "Atomic CI",
    team: "Atomic Host",
    docs: "https://example.org/atomic-ci/docs",
  });
  Object.assign(body.run ?? {}, { url: "https://ci.example.org/runs/42", log: "https://ci.example.org/runs/42/log" });
  Object.assign(body.artifact ?? {}, {
    type: "koji-build",
    id: 2860061,
    issuer: "spot",
    component: "prusa-slicer",
    nvr: "prusa-slicer-2.9.4-1.fc44",
  });
  Object.assign(body.pipeline ?? {}, { id: "atomic-ci-42", name: "atomic-ci package tests" });
  Object.assign(body.test ?? {}, { category: "functional", namespace: "atomic-ci.koji-build", type: "tier0" });
  const out: Record<string, unknown> = { ...body, generated_at: "2025-11-17T14:50:00.123456Z", version: "1.1.14" };
  if (state === "complete") {
    Object.assign(body.test ?? {}, { result: "passed" });
    out.system = [{ os: "fedora-atomic-host-44", provider: "qemu", architecture: "x86_64" }];
  }
  if (state === "error") Object.assign(body.error ?? {}, { reason: "could not boot the image" });
  return out;
}

const MESSAGE = {
  queued: KojiBuildTestQueuedMessage,
  running: KojiBuildTestRunningMessage,
  complete: KojiBuildTestCompleteMessage,
  error: KojiBuildTestErrorMessage,
};

describe("the empty Fedora CI templates", () => {
  it("are rejected (queued, running) on every empty required value", () => {
    expect(paths(validateBody(KojiBuildTestQueuedMessage, template("queued")))).toEqual([...COMMON_REJECTED].sort());
    expect(paths(validateBody(KojiBuildTestRunningMessage, template("running")))).toEqual([...COMMON_REJECTED].sort());
  });

  it("are rejected (complete) also for the empty result and the empty system list", () => {
    expect(paths(validateBody(KojiBuildTestCompleteMessage, template("complete")))).toEqual(
      [...COMMON_REJECTED, "test.result", "system"].sort(),
    );
  });

  it("are rejected (error) also for the empty reason", () => {
    expect(paths(validateBody(KojiBuildTestErrorMessage, template("error")))).toEqual(
      [...COMMON_REJECTED, "error.reason"].sort(),
    );
  });

  for (const state of STATES) {
    it(`are accepted once filled in (${state})`, () => {
      expect(paths(validateBody(MESSAGE[state], filled(state)))).toEqual([]);
    });
  }
});

describe("koji-build test messages", () => {
  it("need a positive integer build id and a non-empty NVR", () => {
    const body = filled("queued") as { artifact: Record<string, unknown> };
    body.artifact.id = 0;
    body.artifact.nvr = "";
    expect(paths(validateBody(KojiBuildTestQueuedMessage, body))).toEqual(["artifact.id", "artifact.nvr"]);
  });

  it("need the system list's required fields on complete", () => {
    const body = filled("complete");
    body.system = [{ os: "fedora", provider: "qemu", architecture: "x86_64" }, { os: "fedora", provider: "" }];
    expect(paths(validateBody(KojiBuildTestCompleteMessage, body))).toEqual(["system.1.architecture", "system.1.provider"]);
  });

  it("accept generated_at with an offset or without one, not other dates", () => {
    for (const at of ["2025-11-17T14:50:00Z", "2025-11-17T14:50:00+01:00", "2025-11-17T14:50:00.5"]) {
      expect(validateBody(KojiBuildTestQueuedMessage, { ...filled("queued"), generated_at: at }).ok).toBe(true);
    }
    for (const at of ["2025-11-17", "17/11/2025 14:50", "yesterday"]) {
      expect(paths(validateBody(KojiBuildTestQueuedMessage, { ...filled("queued"), generated_at: at }))).toEqual([
        "generated_at",
      ]);
    }
  });

  it("derive the ResultsDB test case name and the headers", () => {
    const body = KojiBuildTestComplete.parse(filled("complete"));
    expect(testCaseName(body)).toBe("atomic-ci.koji-build.tier0.functional");
    expect(KojiBuildTestCompleteMessage.packages?.(body)).toEqual(["prusa-slicer"]);
    expect(KojiBuildTestCompleteMessage.usernames?.(body)).toEqual(["spot"]);
    expect(KojiBuildTestCompleteMessage.summary?.(body)).toBe(
      "atomic-ci.koji-build.tier0.functional on prusa-slicer-2.9.4-1.fc44: complete (passed)",
    );
  });
});

describe("koji-build-group and productmd-compose test messages", () => {
  const base = filled("complete");
  const group = {
    ...base,
    artifact: {
      type: "koji-build-group",
      id: "FEDORA-2023-1f3e17882f",
      issuer: "bodhi",
      repository: "https://bodhi.fedoraproject.org/updates/FEDORA-2023-1f3e17882f",
      builds: [
        { type: "koji-build", id: 2196428, issuer: "nickc", component: "annobin", nvr: "annobin-12.10-2.fc39", scratch: false },
        { type: "koji-build", id: 2196429, issuer: "nickc", component: "gcc", nvr: "gcc-13.1.1-2.fc39", scratch: false },
      ],
    },
  };

  it("accept a build group and name its packages", () => {
    const result = validateBody(KojiBuildGroupTestCompleteMessage, group);
    expect(result.ok).toBe(true);
    if (result.ok) expect(KojiBuildGroupTestCompleteMessage.packages?.(result.value)).toEqual(["annobin", "gcc"]);
  });

  it("check every build of a group and refuse an empty group", () => {
    const bad = clone(group);
    (bad.artifact.builds[1] as Record<string, unknown>).nvr = "";
    expect(paths(validateBody(KojiBuildGroupTestCompleteMessage, bad))).toEqual(["artifact.builds.1.nvr"]);
    expect(paths(validateBody(KojiBuildGroupTestCompleteMessage, { ...group, artifact: { ...group.artifact, builds: [] } }))).toEqual([
      "artifact.builds",
    ]);
  });

  it("accept a compose artifact with compose_type, and require an error reason on error", () => {
    const compose = { type: "productmd-compose", id: "Fedora-AtomicHost-44-20251117.0", compose_type: "nightly" };
    const queued = { ...filled("queued"), artifact: compose };
    expect(validateBody(ProductmdComposeTestQueuedMessage, queued).ok).toBe(true);
    expect(paths(validateBody(ProductmdComposeTestQueuedMessage, { ...queued, artifact: { ...compose, compose_type: "" } }))).toEqual([
      "artifact.compose_type",
    ]);
    expect(paths(validateBody(ProductmdComposeTestErrorMessage, queued))).toEqual(["error"]);
  });
});

describe("Fedora CI topics", () => {
  it("are <artifact>.test.<state> under ci., found with Fedora's org.centos.prod. prefix", () => {
    expect(ciTestTopic("koji-build", "complete")).toBe("ci.koji-build.test.complete");
    for (const artifact of ["koji-build", "koji-build-group", "productmd-compose"]) {
      for (const state of STATES) {
        const schema = defaultRegistry.forTopic(`org.centos.prod.ci.${artifact}.test.${state}`);
        expect(schema?.topic).toBe(`ci.${artifact}.test.${state}`);
        expect(schema?.name).toMatch(/^atomic_ci\.fedora_ci\.[A-Za-z]+Test[A-Z][a-z]+V1$/);
      }
    }
    expect(KojiBuildTestCompleteMessage.name).toBe("atomic_ci.fedora_ci.KojiBuildTestCompleteV1");
    expect(KojiBuildGroupTestCompleteMessage.name).toBe("atomic_ci.fedora_ci.KojiBuildGroupTestCompleteV1");
  });
});
