// What discovery produces and the runner consumes: one test case, independent of the format
// (STI playbook, tmt/fmf tree, or the host definition's STI tests) it was declared in.

export type TestSource = "sti" | "tmt" | "host";

export interface TestCase {
  /** Unique within one discovery: `<package>/<source>/<file or plan>/<name>`. */
  id: string;
  /** Source package name, or the definition's name for host tests. */
  package: string;
  source: TestSource;
  /** STI: the key under `tests:`; tmt: the fmf node name (`/tests/smoke`). */
  name: string;
  /** Directory in the repository (relative, no leading `/`, `.` for the root) that becomes the test's cwd. */
  dir: string;
  /** argv run inside the sandbox, with the tree's own `/usr/bin/sh`. */
  command: string[];
  /** Packages the test needs; they must already be in the composed tree (nothing is installed). */
  requires: string[];
  timeoutMs: number;
  /** Re-runs allowed after a *failed* attempt (flaky tests); errors are retried separately. */
  allowedReruns: number;
  /** Extra environment declared by the test (tmt `environment`). */
  environment: Record<string, string>;
  /** The dist-git (or definition) commit the test was read at; the runner copies `dir` from it. */
  commit: string;
  /** The file that declared the test (`tests/tests.yml`, `tests/main.fmf`). */
  file: string;
  /** STI: the play's and role's `tags`; tmt: the test's `tag`. `image` marks a test for the booted image too (docs/images.md §8). */
  tags?: string[];
}

/** Default time limit when a format declares none (STI) — tmt's own default duration. */
export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** A test declaration discovery does not support: names the file and the key. */
export class DiscoveryError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    problem: string,
  ) {
    super(`${file}: ${key}: ${problem}`);
    this.name = "DiscoveryError";
  }
}
