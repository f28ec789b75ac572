import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { safePath } from "./argv.js";
import { runTool, type ToolContext } from "./run.js";

/** What a package file's header says about it. */
export interface RpmHeader {
  /** The file queried. */
  path: string;
  name: string;
  /** null when the package has no epoch (rpm prints `(none)`); EVR comparisons treat that as 0. */
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
  /** `SHA256HEADER`: digest of the signed header, which covers the payload digest. Hex. */
  sha256Header: string;
  /** The source RPM it was built from, e.g. `podman-5.2.5-1.fc41.src.rpm`. */
  sourceRpm: string;
  /** Unix time of the build. */
  buildTime: number;
}

// One record per package: a marker line, then one field per line. None of these tags can
// contain a newline, so the split is unambiguous.
const MARKER = "@@atomic-ci-rpm@@";
const FIELDS = ["NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "SHA256HEADER", "SOURCERPM", "BUILDTIME"] as const;
const QUERY_FORMAT = `${MARKER}\\n${FIELDS.map((tag) => `%{${tag}}`).join("\\n")}\\n`;

/** Read the headers of package files with one `rpm -qp` call. */
export async function queryRpmHeaders(paths: readonly string[], ctx: ToolContext): Promise<RpmHeader[]> {
  if (paths.length === 0) return [];
  const files = paths.map((p) => absolute(p));
  const { stdout } = await runTool("rpm", ["--query", "--package", "--nosignature", "--nodigest", "--queryformat", QUERY_FORMAT, "--", ...files], {
    env: { ...ctx.env, LC_ALL: "C" },
    timeoutMs: ctx.timeoutMs ?? 120_000,
  });
  const records = stdout.split(`${MARKER}\n`).slice(1);
  if (records.length !== files.length) {
    throw new Error(`rpm printed ${records.length} headers for ${files.length} packages`);
  }
  return records.map((record, i) => {
    const [name = "", epoch = "", version = "", release = "", arch = "", sha256Header = "", sourceRpm = "", buildTime = ""] =
      record.split("\n");
    return {
      path: files[i] ?? "",
      name,
      epoch: epoch === "(none)" ? null : Number(epoch),
      version,
      release,
      arch,
      sha256Header,
      sourceRpm,
      buildTime: Number(buildTime),
    };
  });
}

export async function queryRpmHeader(path: string, ctx: ToolContext): Promise<RpmHeader> {
  const [header] = await queryRpmHeaders([path], ctx);
  if (!header) throw new Error(`rpm printed no header for ${path}`);
  return header;
}

/** A dependency list of a package file (`--requires`, `--provides`, ...), one capability per entry. */
export async function queryRpmDeps(
  path: string,
  kind: "requires" | "provides" | "conflicts" | "obsoletes" | "recommends",
  ctx: ToolContext,
): Promise<string[]> {
  const { stdout } = await runTool("rpm", ["--query", "--package", "--nosignature", "--nodigest", `--${kind}`, "--", absolute(path)], {
    env: { ...ctx.env, LC_ALL: "C" },
    timeoutMs: ctx.timeoutMs ?? 60_000,
  });
  return lines(stdout);
}

/** The paths a package file installs (`rpm -qlp`). An empty package lists none. */
export async function queryRpmFiles(path: string, ctx: ToolContext): Promise<string[]> {
  const { stdout } = await runTool("rpm", ["--query", "--package", "--nosignature", "--nodigest", "--list", "--", absolute(path)], {
    env: { ...ctx.env, LC_ALL: "C" },
    timeoutMs: ctx.timeoutMs ?? 60_000,
  });
  return lines(stdout).filter((line) => line !== "(contains no files)");
}

/**
 * The digest repodata records for a package file (`sha256:` + sha256 of the whole file), which
 * is what rpm-ostree writes as `digest` in a lockfile.
 */
export function rpmFileDigest(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolvePromise(`sha256:${hash.digest("hex")}`));
  });
}

/** `E:V-R`, or `V-R` without an epoch (how dnf and rpm-ostree lockfiles print an EVR). */
export function formatEvr(pkg: { epoch: number | null; version: string; release: string }): string {
  return `${pkg.epoch ? `${pkg.epoch}:` : ""}${pkg.version}-${pkg.release}`;
}

/** `name-[E:]V-R.arch`. */
export function formatNevra(pkg: { name: string; epoch: number | null; version: string; release: string; arch: string }): string {
  return `${pkg.name}-${formatEvr(pkg)}.${pkg.arch}`;
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

function absolute(path: string): string {
  safePath(path, "package file");
  return isAbsolute(path) ? path : resolve(path);
}
