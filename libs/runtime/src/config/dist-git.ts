// Config keys of a dist-git forge read through mirrors, shared by every service that reads
// packages' repositories (test-runner, gatekeeper): one pattern, one wording, defaults per service.
import { z } from "zod";

/** `distGit.url`, `mirrorDir`, `refreshSeconds` of a service whose mirrors default to `mirrorDir`. */
export function mirroredDistGitKeys(mirrorDir: string) {
  return {
    url: z
      .string()
      .regex(/^(https?|ssh|git|file):\/\/\S*\{name\}\S*$/, "must be a git URL with {name}, e.g. https://src.fedoraproject.org/rpms/{name}.git")
      .optional()
      .describe("The dist-git forge, `{name}` standing for the source package (wins over a directory); each repository is mirrored under mirrorDir on first use"),
    mirrorDir: z.string().min(1).default(mirrorDir).describe("With url: where the packages' repositories are mirrored"),
    refreshSeconds: z
      .int()
      .min(1)
      .default(300)
      .describe("With url: how old a mirror may get before a read fetches (and how long a package without a repository is believed to have none)"),
  };
}
