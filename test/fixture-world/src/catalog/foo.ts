import type { SourcePackage } from "../model.js";
import { bin, smoke, text } from "./helpers.js";

/**
 * The pair that breaks only together. libfoo 2.0 adds `foo_greet GREETING NAME`; foo-cli 2.0
 * was written against the 2.0 betas, where it was `foo_greet NAME`, and uses it when present.
 *   libfoo 1.0 + foo-cli 1.0: foo_render          → "Hello, world"
 *   libfoo 2.0 + foo-cli 1.0: foo_render (kept)   → "Hello, world"
 *   libfoo 1.0 + foo-cli 2.0: no foo_greet, falls back to foo_render → "Hello, world"
 *   libfoo 2.0 + foo-cli 2.0: foo_greet world     → "world, "  (foo-cli's test fails)
 * Each package's own tests pass with the other at its stable version.
 */
const LIBFOO: Record<string, string> = {
  "1.0": `# libfoo 1.0: a shell library (sourced, not run).
FOO_VERSION=1.0
foo_render() { echo "Hello, $1"; }
`,
  "2.0": `# libfoo 2.0: a shell library (sourced, not run). New: foo_greet GREETING NAME.
FOO_VERSION=2.0
foo_render() { echo "Hello, $1"; }
foo_greet() { echo "$1, \${2:-}"; }
`,
};

const GREET: Record<string, string> = {
  "1.0": 'foo_render "${2:-world}"',
  "2.0": `# libfoo >= 2.0 has foo_greet; older ones only foo_render.
    if type foo_greet >/dev/null 2>&1; then foo_greet "\${2:-world}"; else foo_render "\${2:-world}"; fi`,
};

function fooCli(version: string): string {
  return `#!/bin/sh
# foo-cli ${version}: greets through libfoo.
. /usr/lib/libfoo/libfoo.sh
case "\${1:-}" in
  --version) echo "foo-cli ${version} (libfoo $FOO_VERSION)" ;;
  greet)
    ${GREET[version] ?? ""} ;;
  *) echo "usage: foo-cli greet NAME" >&2; exit 2 ;;
esac
`;
}

const together = {
  kind: "together" as const,
  detail: "libfoo 2.0 and foo-cli 2.0 each pass their tests with the other at 1.0; installed together, `foo-cli greet world` prints \"world, \" and foo-cli's test fails",
};

export function fooPackages(): SourcePackage[] {
  return [
    {
      name: "libfoo",
      summary: "A small greeting library",
      description: "A shell library used by foo-cli.",
      license: "MIT",
      url: "https://example.invalid/libfoo",
      arch: "noarch",
      tests: "tmt",
      versions: [
        { version: "1.0", repo: "stable", date: "2024-10-12T10:00:00Z", changelog: "Initial import (1.0)" },
        {
          version: "2.0",
          repo: "candidates",
          date: "2024-11-05T10:00:00Z",
          changelog: "Update to 2.0 (adds foo_greet)",
          broken: { ...together, with: ["foo-cli-2.0-1.fc41"] },
        },
      ],
      binaries: (v) => [{ name: "libfoo", summary: "libfoo", files: [text("/usr/lib/libfoo/libfoo.sh", LIBFOO[v.version] ?? "")] }],
      smoke: (v) =>
        smoke(
          "libfoo",
          `. /usr/lib/libfoo/libfoo.sh
check version [ "$FOO_VERSION" = ${v.version} ]
check render [ "$(foo_render world)" = "Hello, world" ]${v.version === "2.0" ? '\ncheck greet [ "$(foo_greet Hi world)" = "Hi, world" ]' : ""}`,
        ),
    },
    {
      name: "foo-cli",
      summary: "Greets through libfoo",
      description: "A command line tool using libfoo.",
      license: "MIT",
      url: "https://example.invalid/foo-cli",
      arch: "noarch",
      tests: "tmt",
      testRequires: ["foo-cli"],
      versions: [
        { version: "1.0", repo: "stable", date: "2024-10-12T11:00:00Z", changelog: "Initial import (1.0)" },
        {
          version: "2.0",
          repo: "candidates",
          date: "2024-11-05T11:00:00Z",
          changelog: "Update to 2.0 (use foo_greet when libfoo has it)",
          broken: { ...together, with: ["libfoo-2.0-1.fc41"] },
        },
      ],
      binaries: (v) => [{ name: "foo-cli", summary: "foo-cli", requires: ["libfoo >= 1.0"], files: [bin("/usr/bin/foo-cli", fooCli(v.version))] }],
      smoke: () => smoke("foo-cli", `check greet [ "$(foo-cli greet world)" = "Hello, world" ]\ncheck version sh -c 'foo-cli --version | grep -q "^foo-cli "'`),
    },
  ];
}
