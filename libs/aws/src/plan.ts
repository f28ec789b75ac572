// Pure pieces of the upload: names, keys, idempotency tokens, tags, backoff. Unit-tested.
import { createHash } from "node:crypto";

/** AMI names: 3-128 characters of letters, digits and ( ) [ ] space . / - ' @ _ (EC2's rule). */
const AMI_NAME_CHARS = /[^A-Za-z0-9()[\] ./'@_-]/g;

export interface BuildIdentity {
  /** meta.json `name` (fedora-atomic-host). */
  name: string;
  /** meta.json `buildid` (the commit's version). */
  buildId: string;
  /** meta.json `coreos-assembler.basearch`. */
  basearch: string;
  /** The OSTree commit (64 hex). */
  commit: string;
}

/** The AMI's name, the same in every region: unique per build and commit, so it finds an earlier run's AMI. */
export function amiName(build: BuildIdentity): string {
  const raw = `${build.name}-${build.buildId}-${build.basearch}-${build.commit.slice(0, 12)}`;
  const name = raw.replace(AMI_NAME_CHARS, "-");
  if (name.length < 3) throw new RangeError(`AMI name too short: ${JSON.stringify(name)}`);
  // Keep the commit suffix, which makes it unique, when a long build name must be cut.
  return name.length <= 128 ? name : `${name.slice(0, 128 - 13)}-${build.commit.slice(0, 12)}`;
}

/** `<prefix><commit>/<file name>`; the file name is the artifact's own (no directories). */
export function objectKey(prefix: string, commit: string, fileName: string): string {
  if (!/^[0-9a-f]{64}$/.test(commit)) throw new RangeError(`not an OSTree commit: ${JSON.stringify(commit)}`);
  if (!/^[A-Za-z0-9._+-]+$/.test(fileName) || fileName.startsWith(".")) throw new RangeError(`not a plain file name: ${JSON.stringify(fileName)}`);
  return `${prefix}${commit}/${fileName}`;
}

/**
 * EC2 ClientToken (≤ 64 ASCII characters): the same request for the same build gives the same
 * token, so a retried ImportSnapshot or CopyImage returns the task/AMI already started.
 */
export function clientToken(...parts: string[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** EC2's architecture names for coreos-assembler's basearch. */
export function ec2Architecture(basearch: string): "x86_64" | "arm64" {
  if (basearch === "x86_64") return "x86_64";
  if (basearch === "aarch64") return "arm64";
  throw new RangeError(`no EC2 architecture for basearch ${JSON.stringify(basearch)}`);
}

export const TAG_BUILD = "atomic-ci:build";
export const TAG_COMMIT = "atomic-ci:commit";
export const TAG_SHA256 = "atomic-ci:vmdk-sha256";

/** Tags put on every snapshot and AMI of a build (EC2: ≤ 50 tags, values ≤ 256 characters). */
export function buildTags(build: BuildIdentity, name: string, vmdkSha256: string): { Key: string; Value: string }[] {
  return [
    { Key: "Name", Value: name },
    { Key: TAG_BUILD, Value: build.buildId.slice(0, 256) },
    { Key: TAG_COMMIT, Value: build.commit },
    { Key: TAG_SHA256, Value: vmdkSha256 },
  ];
}

/** The next wait between two polls: ×1.5, at most `max`. */
export function nextDelay(current: number, max: number): number {
  return Math.min(max, Math.ceil(current * 1.5));
}

export interface Ami {
  /** The region (coreos-assembler's meta.json calls it `name`). */
  name: string;
  /** The AMI id. */
  hvm: string;
  /** Its root snapshot id. */
  snapshot: string;
}

/** The `amis` of coreos-assembler's meta.json, home region first, then the copies in configured order. */
export function orderAmis(amis: readonly Ami[], home: string, regions: readonly string[]): Ami[] {
  const order = [home, ...regions];
  return [...amis].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/** True when `amis` covers exactly the home region and every configured copy. */
export function coversRegions(amis: readonly Ami[] | undefined, home: string, regions: readonly string[]): boolean {
  if (!amis) return false;
  const have = new Set(amis.map((a) => a.name));
  return [home, ...regions].every((r) => have.has(r));
}
