import type { FileEntry, PackageVersion } from "../model.js";

/**
 * A stand-in command: a busybox-sh script that answers `--version` like the real tool and
 * otherwise says what it is. `cases` adds `case` branches (shell text) before the default.
 */
export function standIn(command: string, pkg: string, version: string, cases = ""): string {
  return `#!/bin/sh
# ${command}: stand-in from the atomic-ci fixture world (${pkg} ${version}).
case "\${1:-}" in
  --version|-V|version) echo "${command} ${version}" ;;
${cases}  *) echo "${command} (fixture stand-in of ${pkg} ${version}) $*" ;;
esac
`;
}

export function bin(path: string, content: string): FileEntry {
  return { path, content, mode: 0o755 };
}

export function text(path: string, content: string): FileEntry {
  return { path, content };
}

/** A systemd unit that looks like the real one; nothing starts it in a fixture, but a compose carries it. */
export function unit(name: string, description: string, exec: string, after = "network.target"): FileEntry {
  return text(
    `/usr/lib/systemd/system/${name}`,
    `[Unit]\nDescription=${description}\nAfter=${after}\n\n[Service]\nExecStart=${exec}\n\n[Install]\nWantedBy=multi-user.target\n`,
  );
}

/** The usual smoke test prologue: strict shell, and a PASS line per check in STI's test.log style. */
export function smoke(testName: string, checks: string): string {
  return `#!/bin/sh
# Smoke test, run inside the composed host (busybox sh). Prints PASS/FAIL lines; exit status is the verdict.
set -eu
check() {
  name=$1; shift
  if "$@"; then echo "PASS ${testName}/$name"; else echo "FAIL ${testName}/$name"; exit 1; fi
}
${checks}
`;
}

/** Versions helper: the same shape for every single-version, stable package. */
export function stableOnly(version: string, date: string, changelog = `Update to ${version}`): PackageVersion[] {
  return [{ version, repo: "stable", date, changelog }];
}
