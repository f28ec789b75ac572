import { commonConfigSchema } from "@atomic-ci/runtime";
import { z } from "zod";

/** A yum repository id as dnf accepts it in `--repofrompath`. */
const repoId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "must be a repository id (letters, digits, ._:-)");

/** The `composer` section: where the host definition is, where commits go, where candidate builds are. */
export const composerConfigSchema = commonConfigSchema.extend({
  composer: z
    .strictObject({
      definition: z
        .strictObject({
          repo: z.string().min(1).optional().describe("Host definition git repository (a path or URL); required to compose"),
          branch: z.string().min(1).default("f41").describe("Branch composed when a change set names no definition commit"),
          treefile: z.string().regex(/^[^/\s][^\s]*$/, "must be a relative path").default("fedora-atomic-host.yaml").describe("Top-level treefile, relative to the repository root"),
        })
        .prefault({}),
      workDir: z.string().min(1).default(".cache/composer/work").describe("Scratch space: definition checkouts and compose work directories"),
      ostreeRepo: z.string().min(1).default(".cache/composer/repo").describe("The pipeline's OSTree archive repository (created when missing)"),
      basearch: z.string().regex(/^[a-z0-9_]+$/, "must be an architecture like x86_64").default("x86_64").describe("Architecture composed"),
      candidates: z
        .strictObject({
          id: repoId.default("candidates").describe("Repository id of the candidate builds"),
          url: z.string().min(1).optional().describe("file://, http:// or https:// URL of the yum repository holding the candidate builds"),
        })
        .prefault({}),
      scratchBuilds: z
        .strictObject({
          distGit: z
            .string()
            .min(1)
            .optional()
            .describe("dist-git base (a directory or a URL git can clone): `<distGit>/<namespace>/<name>`, e.g. `<distGit>/rpms/bash`; required when a change set changes a spec"),
          lookaside: z
            .string()
            .min(1)
            .optional()
            .describe("Lookaside store (a directory or a file://, http:// or https:// URL): `<lookaside>/<name>/<file>/sha512/<hash>/<file>`; required for packages with a `sources` file"),
          repoId: repoId.default("scratch").describe("Repository id of the per-change-set repository of scratch builds (must differ from candidates.id)"),
          macros: z
            .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an rpm macro name"), z.string())
            .default({ dist: ".fc41" })
            .describe("rpm macros of the build system (`--define`), like koji's mock config: the dist tag of the branch composed"),
          buildHost: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a host name").default("scratch.atomic-ci.invalid").describe("Build host recorded in the RPMs (fixed, so a rebuild of the same commit gives the same RPMs)"),
          timeoutMs: z.int().positive().default(1_800_000).describe("Time limit of one package's build (checkout and sources not included)"),
          maxOutputBytes: z.int().positive().default(16 * 1024 * 1024).describe("Output limit of one build, per stream: more is a build failure"),
        })
        .prefault({}),
    })
    .prefault({})
    .refine((c) => c.scratchBuilds.repoId !== c.candidates.id, { message: "scratchBuilds.repoId must differ from candidates.id", path: ["scratchBuilds", "repoId"] }),
});

export type ComposerConfig = z.output<typeof composerConfigSchema>;
export type ComposerSection = ComposerConfig["composer"];
