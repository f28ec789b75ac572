import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { Severity, type MessageSchema } from "../schema.js";
import {
  CiContact,
  CiError,
  CiGeneratedAt,
  CiKojiBuildArtifact,
  CiKojiBuildGroupArtifact,
  CiNotification,
  CiPipeline,
  CiProductmdComposeArtifact,
  CiRun,
  CiSpecVersion,
  CiSystem,
  CiTest,
  CiTestComplete,
} from "./fedora-ci-parts.js";

/** Environment prefix Fedora CI publishes under: `org.centos.prod.ci.koji-build.test.complete`. */
export const FEDORA_CI_TOPIC_PREFIX = "org.centos.prod";

export const CI_TEST_STATES = ["queued", "running", "complete", "error"] as const;
export type CiTestState = (typeof CI_TEST_STATES)[number];

/** `ci.<artifact>.test.<state>`: the topic without the environment prefix. */
export function ciTestTopic(artifact: string, state: CiTestState): string {
  return `ci.${artifact}.test.${state}`;
}

function stateBodies<A extends z.ZodType>(artifact: A) {
  const queued = z.looseObject({
    contact: CiContact,
    run: CiRun,
    artifact,
    pipeline: CiPipeline,
    test: CiTest,
    notification: CiNotification.optional(),
    generated_at: CiGeneratedAt,
    version: CiSpecVersion,
  });
  return {
    queued,
    running: queued,
    complete: queued.extend({
      test: CiTestComplete,
      system: z.array(CiSystem).min(1, "a completed test names at least one system it ran on"),
    }),
    error: queued.extend({ error: CiError }),
  };
}

const kojiBuild = stateBodies(CiKojiBuildArtifact);
export const KojiBuildTestQueued = kojiBuild.queued;
export type KojiBuildTestQueued = z.output<typeof KojiBuildTestQueued>;
export const KojiBuildTestRunning = kojiBuild.running;
export type KojiBuildTestRunning = z.output<typeof KojiBuildTestRunning>;
export const KojiBuildTestComplete = kojiBuild.complete;
export type KojiBuildTestComplete = z.output<typeof KojiBuildTestComplete>;
export const KojiBuildTestError = kojiBuild.error;
export type KojiBuildTestError = z.output<typeof KojiBuildTestError>;

const kojiBuildGroup = stateBodies(CiKojiBuildGroupArtifact);
export const KojiBuildGroupTestQueued = kojiBuildGroup.queued;
export type KojiBuildGroupTestQueued = z.output<typeof KojiBuildGroupTestQueued>;
export const KojiBuildGroupTestRunning = kojiBuildGroup.running;
export type KojiBuildGroupTestRunning = z.output<typeof KojiBuildGroupTestRunning>;
export const KojiBuildGroupTestComplete = kojiBuildGroup.complete;
export type KojiBuildGroupTestComplete = z.output<typeof KojiBuildGroupTestComplete>;
export const KojiBuildGroupTestError = kojiBuildGroup.error;
export type KojiBuildGroupTestError = z.output<typeof KojiBuildGroupTestError>;

const compose = stateBodies(CiProductmdComposeArtifact);
export const ProductmdComposeTestQueued = compose.queued;
export type ProductmdComposeTestQueued = z.output<typeof ProductmdComposeTestQueued>;
export const ProductmdComposeTestRunning = compose.running;
export type ProductmdComposeTestRunning = z.output<typeof ProductmdComposeTestRunning>;
export const ProductmdComposeTestComplete = compose.complete;
export type ProductmdComposeTestComplete = z.output<typeof ProductmdComposeTestComplete>;
export const ProductmdComposeTestError = compose.error;
export type ProductmdComposeTestError = z.output<typeof ProductmdComposeTestError>;

export type CiTestMessageBody =
  | KojiBuildTestQueued
  | KojiBuildTestComplete
  | KojiBuildTestError
  | KojiBuildGroupTestQueued
  | KojiBuildGroupTestComplete
  | KojiBuildGroupTestError
  | ProductmdComposeTestQueued
  | ProductmdComposeTestComplete
  | ProductmdComposeTestError;

/** ResultsDB test case name of a CI message: `<namespace>.<type>.<category>`, what gating rules name. */
export function testCaseName(body: { test: { namespace: string; type: string; category: string } }): string {
  return `${body.test.namespace}.${body.test.type}.${body.test.category}`;
}

export const KOJI_BUILD_TEST_QUEUED_TOPIC = ciTestTopic("koji-build", "queued");
export const KOJI_BUILD_TEST_RUNNING_TOPIC = ciTestTopic("koji-build", "running");
export const KOJI_BUILD_TEST_COMPLETE_TOPIC = ciTestTopic("koji-build", "complete");
export const KOJI_BUILD_TEST_ERROR_TOPIC = ciTestTopic("koji-build", "error");
export const KOJI_BUILD_GROUP_TEST_QUEUED_TOPIC = ciTestTopic("koji-build-group", "queued");
export const KOJI_BUILD_GROUP_TEST_RUNNING_TOPIC = ciTestTopic("koji-build-group", "running");
export const KOJI_BUILD_GROUP_TEST_COMPLETE_TOPIC = ciTestTopic("koji-build-group", "complete");
export const KOJI_BUILD_GROUP_TEST_ERROR_TOPIC = ciTestTopic("koji-build-group", "error");
export const PRODUCTMD_COMPOSE_TEST_QUEUED_TOPIC = ciTestTopic("productmd-compose", "queued");
export const PRODUCTMD_COMPOSE_TEST_RUNNING_TOPIC = ciTestTopic("productmd-compose", "running");
export const PRODUCTMD_COMPOSE_TEST_COMPLETE_TOPIC = ciTestTopic("productmd-compose", "complete");
export const PRODUCTMD_COMPOSE_TEST_ERROR_TOPIC = ciTestTopic("productmd-compose", "error");

interface ArtifactInfo {
  /** Package names the artifact is about (become `fedora_messaging_rpm_*`). */
  packages(artifact: unknown): string[];
  /** Users the artifact is about. */
  usernames(artifact: unknown): string[];
  label(artifact: unknown): string;
}

const kojiBuildInfo: ArtifactInfo = {
  packages: (a) => [(a as CiKojiBuildArtifact).component],
  usernames: (a) => [(a as CiKojiBuildArtifact).issuer],
  label: (a) => (a as CiKojiBuildArtifact).nvr,
};
const kojiBuildGroupInfo: ArtifactInfo = {
  packages: (a) => [...new Set((a as CiKojiBuildGroupArtifact).builds.map((b) => b.component))].sort(),
  usernames: (a) => [(a as CiKojiBuildGroupArtifact).issuer],
  label: (a) => (a as CiKojiBuildGroupArtifact).id,
};
const composeInfo: ArtifactInfo = {
  packages: () => [],
  usernames: () => [],
  label: (a) => (a as CiProductmdComposeArtifact).id,
};

const STATE_SEVERITY: Record<CiTestState, Severity> = {
  queued: Severity.DEBUG,
  running: Severity.DEBUG,
  complete: Severity.INFO,
  error: Severity.WARNING,
};

function pascal(words: string): string {
  return words
    .split("-")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

function ciMessage<T extends { artifact: unknown; test: CiTest }>(
  artifactType: string,
  state: CiTestState,
  body: z.ZodType<T>,
  info: ArtifactInfo,
): MessageSchema<T> {
  return {
    name: `atomic_ci.fedora_ci.${pascal(artifactType)}Test${pascal(state)}V1`,
    topic: ciTestTopic(artifactType, state),
    body,
    description: `Fedora CI: a test of a ${artifactType} artifact is ${state}.`,
    severity: STATE_SEVERITY[state],
    usernames: (b) => info.usernames(b.artifact),
    packages: (b) => info.packages(b.artifact),
    summary: (b) => {
      const result = state === "complete" ? ` (${(b.test as CiTestComplete).result})` : "";
      return `${testCaseName(b)} on ${info.label(b.artifact)}: ${state}${result}`;
    },
  };
}

export const KojiBuildTestQueuedMessage = ciMessage("koji-build", "queued", KojiBuildTestQueued, kojiBuildInfo);
export const KojiBuildTestRunningMessage = ciMessage("koji-build", "running", KojiBuildTestRunning, kojiBuildInfo);
export const KojiBuildTestCompleteMessage = ciMessage("koji-build", "complete", KojiBuildTestComplete, kojiBuildInfo);
export const KojiBuildTestErrorMessage = ciMessage("koji-build", "error", KojiBuildTestError, kojiBuildInfo);
export const KojiBuildGroupTestQueuedMessage = ciMessage(
  "koji-build-group",
  "queued",
  KojiBuildGroupTestQueued,
  kojiBuildGroupInfo,
);
export const KojiBuildGroupTestRunningMessage = ciMessage(
  "koji-build-group",
  "running",
  KojiBuildGroupTestRunning,
  kojiBuildGroupInfo,
);
export const KojiBuildGroupTestCompleteMessage = ciMessage(
  "koji-build-group",
  "complete",
  KojiBuildGroupTestComplete,
  kojiBuildGroupInfo,
);
export const KojiBuildGroupTestErrorMessage = ciMessage(
  "koji-build-group",
  "error",
  KojiBuildGroupTestError,
  kojiBuildGroupInfo,
);
export const ProductmdComposeTestQueuedMessage = ciMessage(
  "productmd-compose",
  "queued",
  ProductmdComposeTestQueued,
  composeInfo,
);
export const ProductmdComposeTestRunningMessage = ciMessage(
  "productmd-compose",
  "running",
  ProductmdComposeTestRunning,
  composeInfo,
);
export const ProductmdComposeTestCompleteMessage = ciMessage(
  "productmd-compose",
  "complete",
  ProductmdComposeTestComplete,
  composeInfo,
);
export const ProductmdComposeTestErrorMessage = ciMessage(
  "productmd-compose",
  "error",
  ProductmdComposeTestError,
  composeInfo,
);

const FEDORA_CI_SCHEMAS: readonly MessageSchema[] = [
  KojiBuildTestQueuedMessage,
  KojiBuildTestRunningMessage,
  KojiBuildTestCompleteMessage,
  KojiBuildTestErrorMessage,
  KojiBuildGroupTestQueuedMessage,
  KojiBuildGroupTestRunningMessage,
  KojiBuildGroupTestCompleteMessage,
  KojiBuildGroupTestErrorMessage,
  ProductmdComposeTestQueuedMessage,
  ProductmdComposeTestRunningMessage,
  ProductmdComposeTestCompleteMessage,
  ProductmdComposeTestErrorMessage,
];

export const FEDORA_CI_FAMILY: MessageFamily = {
  id: "fedora-ci",
  title: "Fedora CI test results",
  description:
    "Fedora CI `<artifact>.test.<state>` messages (fedora-ci/messages spec 1.x) for koji-build, " +
    "koji-build-group and productmd-compose artifacts; what our test stages emit.",
  schemas: FEDORA_CI_SCHEMAS,
};
