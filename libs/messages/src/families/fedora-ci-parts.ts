/**
 * Building blocks of the Fedora CI message spec (fedora-ci/messages, version 1.x): the
 * sections shared by every `<artifact>.test.<state>` body.
 */
import { z } from "zod";
import { nonEmptyString } from "./common.js";

/** An address that at least looks like one (`x@y`); the spec's `format: email`, without RFC pedantry. */
const emailAddress = z.string().regex(/^[^@\s]+@[^@\s]+$/, "must be an email address");

export const CiContact = z.looseObject({
  name: nonEmptyString,
  team: nonEmptyString,
  docs: z.url(),
  email: emailAddress,
  url: z.string().optional(),
  irc: z.string().optional(),
  slack: z.string().optional(),
  version: z.string().optional(),
}).meta({ id: "CiContact" });
export type CiContact = z.output<typeof CiContact>;

export const CiRun = z.looseObject({
  url: z.url(),
  log: nonEmptyString,
  log_raw: z.string().optional(),
  log_stream: z.string().optional(),
  rebuild: z.string().optional(),
  trigger_rebuild: z.string().optional(),
  debug: z.string().optional(),
}).meta({ id: "CiRun" });
export type CiRun = z.output<typeof CiRun>;

export const CiKojiBuildArtifact = z.looseObject({
  type: z.literal("koji-build"),
  /** Koji build id (task id for a scratch build). */
  id: z.int().positive(),
  component: nonEmptyString,
  issuer: nonEmptyString,
  scratch: z.boolean(),
  nvr: nonEmptyString,
  baseline: z.string().optional(),
  dependencies: z.array(z.string()).optional(),
  source: z.string().optional(),
}).meta({ id: "CiKojiBuildArtifact" });
export type CiKojiBuildArtifact = z.output<typeof CiKojiBuildArtifact>;

/** Several Koji builds tested together (a Bodhi update or a side tag), identified by a string id. */
export const CiKojiBuildGroupArtifact = z.looseObject({
  type: z.literal("koji-build-group"),
  id: nonEmptyString,
  builds: z.array(CiKojiBuildArtifact).min(1, "a build group needs at least one build"),
  issuer: nonEmptyString,
  repository: z.string().optional(),
  release: z.string().optional(),
}).meta({ id: "CiKojiBuildGroupArtifact" });
export type CiKojiBuildGroupArtifact = z.output<typeof CiKojiBuildGroupArtifact>;

/** A productmd compose (here: an OSTree compose of the host). */
export const CiProductmdComposeArtifact = z.looseObject({
  type: z.literal("productmd-compose"),
  id: nonEmptyString,
  /** `nightly`, `rc`, `production`, `test`, `ci`, ...: free text in the spec. */
  compose_type: nonEmptyString,
  release_type: z.string().optional(),
}).meta({ id: "CiProductmdComposeArtifact" });
export type CiProductmdComposeArtifact = z.output<typeof CiProductmdComposeArtifact>;

export const CiPipeline = z.looseObject({
  id: nonEmptyString,
  name: nonEmptyString,
  build: z.string().optional(),
  stage: z.looseObject({ name: nonEmptyString }).optional(),
}).meta({ id: "CiPipeline" });
export type CiPipeline = z.output<typeof CiPipeline>;

export const CI_TEST_CATEGORIES = [
  "functional",
  "integration",
  "interoperability",
  "static-analysis",
  "system",
  "validation",
  "performance",
] as const;
export type CiTestCategory = (typeof CI_TEST_CATEGORIES)[number];

export const CI_TEST_RESULTS = ["passed", "failed", "info", "needs_inspection", "not_applicable"] as const;
export type CiTestResult = (typeof CI_TEST_RESULTS)[number];

export const CiTest = z.looseObject({
  category: z.enum(CI_TEST_CATEGORIES),
  namespace: nonEmptyString,
  type: nonEmptyString,
  docs: z.string().optional(),
  label: z.array(z.string()).optional(),
  lifetime: z.int().positive().optional(),
  progress: z.int().min(0).max(100).optional(),
  scenario: z.string().optional(),
  xunit: z.string().optional(),
  xunit_urls: z.array(z.string()).optional(),
}).meta({ id: "CiTest" });
export type CiTest = z.output<typeof CiTest>;

export const CiTestComplete = CiTest.extend({
  result: z.enum(CI_TEST_RESULTS),
  runtime: z.number().nonnegative().optional(),
  output: z.string().optional(),
  output_urls: z.array(z.string()).optional(),
}).meta({ id: "CiTestComplete" });
export type CiTestComplete = z.output<typeof CiTestComplete>;

export const CiSystem = z.looseObject({
  os: nonEmptyString,
  provider: nonEmptyString,
  architecture: nonEmptyString,
  variant: z.string().optional(),
  label: z.string().optional(),
}).meta({ id: "CiSystem" });
export type CiSystem = z.output<typeof CiSystem>;

export const CiError = z.looseObject({
  reason: nonEmptyString,
  issue_url: z.string().optional(),
}).meta({ id: "CiError" });
export type CiError = z.output<typeof CiError>;

export const CiNotification = z.looseObject({
  recipients: z.array(z.string()).optional(),
}).meta({ id: "CiNotification" });

/** UTC ISO 8601 time; a missing offset is read as UTC, as the spec's producers often omit it. */
export const CiGeneratedAt = z.iso.datetime({ offset: true, local: true });

/** Version of the message spec the body follows, e.g. `1.1.14`. */
export const CiSpecVersion = z.string().regex(/^\d+\.\d+\.\d+([-+.].*)?$/, "must be a spec version like 1.1.14");
