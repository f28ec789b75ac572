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
    })
    .prefault({}),
});

export type ComposerConfig = z.output<typeof composerConfigSchema>;
export type ComposerSection = ComposerConfig["composer"];
