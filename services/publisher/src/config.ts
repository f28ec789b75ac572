import { commonConfigSchema } from "@atomic-ci/runtime";
import { z } from "zod";

const contextName = z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be a decision context name (letters, digits, ._-)");

/** The gate contexts a compose must satisfy before it is delivered (docs/gating.md, "The two gating points"). */
export const DEFAULT_GATE_CONTEXTS = ["atomic_ci_compose_gate", "atomic_ci_image_gate"] as const;

/** The `publisher` section: the public tree, the signing key, the gatekeeper, the delivery policy. */
export const publisherConfigSchema = commonConfigSchema.extend({
  publisher: z
    .strictObject({
      publicDir: z.string().min(1).default(".cache/publisher/public").describe("The public tree served to users: streams/, updates/, prod/ and the OSTree repositories"),
      publicRepo: z
        .string()
        .regex(/^[^\s]+$/, "must be a path without spaces")
        .default("repo/{stream}")
        .describe(
          "Public OSTree archive repository of each stream; `{stream}` is replaced by the stream name, a relative path is under publicDir. One per stream: a commit's ref binding is the compose ref, so two streams cannot share a repository",
        ),
      baseUrl: z.url().optional().describe("URL the public tree is served at; prefixes the URLs in the release metadata (default: paths relative to publicDir)"),
      gpg: z
        .strictObject({
          homedir: z.string().min(1).optional().describe("GnuPG home directory holding the signing key's secret key; required to deliver"),
          keyId: z.string().regex(/^[0-9A-Fa-f]{8,40}$/, "must be a key id or fingerprint (hex)").optional().describe("Fingerprint (or key id) of the signing key; required to deliver"),
        })
        .prefault({}),
      gatekeeperUrl: z.url().optional().describe("Base URL of the gatekeeper's Greenwave-compatible API (POST /api/v1.0/decision), asked again before each delivery; required to deliver"),
      productVersion: z.string().min(1).default("fedora-41").describe("Product version of the decisions asked for"),
      gates: z.array(contextName).min(1).default([...DEFAULT_GATE_CONTEXTS]).describe("Decision contexts (compose subjects) that must all be satisfied before a compose is delivered"),
      trust: z
        .strictObject({
          gatekeeperUser: z.string().min(1).default("atomic-ci-gatekeeper").describe("Broker account (AMQP user_id, checked by RabbitMQ) whose greenwave.decision.update messages are accepted; others are dead-lettered"),
          operatorUsers: z.array(z.string().min(1)).default([]).describe("Broker accounts whose hold/unhold/rollback requests are accepted; empty: any account that may publish"),
        })
        .prefault({}),
      definition: z
        .strictObject({
          repo: z.string().min(1).optional().describe("Host definition git repository holding the delivery policy (a local path, or a remote URL mirrored under mirrorDir); required to deliver"),
          mirrorDir: z.string().min(1).default(".cache/publisher/mirrors").describe("Where a remote definition repository is mirrored"),
          refreshSeconds: z.int().min(1).default(60).describe("With a remote repo: how old the mirror may get before an evaluation fetches"),
          branch: z.string().min(1).default("f41").describe("Branch the delivery policy is read from (re-read at each evaluation)"),
          path: z.string().regex(/^[^/\s][^\s]*$/, "must be a relative path").default("delivery.yaml").describe("Path of the delivery policy in the repository"),
        })
        .prefault({}),
      requireImages: z.boolean().default(true).describe("Deliver only once the compose's images (pipeline.image.complete) are known"),
      images: z.array(z.string().min(1)).optional().describe("Which meta.json images to publish (default: all of them)"),
      compressionLevel: z.int().min(0).max(9).default(6).describe("xz (or gzip) level of the published images"),
      tickSeconds: z.number().positive().default(60).describe("How often waiting releases are evaluated again (schedules open, freezes end, soak times pass)"),
      stateKeyPrefix: z.string().min(1).default("atomic-ci:publisher").describe("Prefix of the publisher's Redis keys (candidates, streams, holds)"),
      retentionDays: z.number().positive().default(30).describe("Candidates older than this are forgotten"),
    })
    .prefault({}),
});

export type PublisherConfig = z.output<typeof publisherConfigSchema>;
export type PublisherSection = PublisherConfig["publisher"];
