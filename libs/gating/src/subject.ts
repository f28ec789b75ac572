import { nvrPackageName } from "@atomic-ci/messages";

/**
 * Subject types we decide on. The first three are Greenwave's names; `koji-build-group` is
 * Fedora CI's artifact type for a set of builds tested together, which we treat exactly
 * like `bodhi_update` (see GROUP_SUBJECT_TYPES).
 */
export const SUBJECT_TYPES = ["koji_build", "bodhi_update", "compose", "koji-build-group"] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

/**
 * Group subjects: Greenwave decides a Bodhi update by evaluating each build of the update
 * (as `koji_build` subjects) plus the update itself (update-level results); we expand a
 * group the same way through the `groupMembers` port.
 */
export const GROUP_SUBJECT_TYPES: ReadonlySet<string> = new Set(["bodhi_update", "koji-build-group"]);

export interface Subject {
  /** A SUBJECT_TYPES value, or any other string for policies we merely pass through. */
  type: string;
  /** NVR for koji_build, update alias / group id for groups, compose id or ostree commit for compose. */
  identifier: string;
}

export function isSubjectType(value: string): value is SubjectType {
  return (SUBJECT_TYPES as readonly string[]).includes(value);
}

/** The package a subject belongs to, for `packages` / `excluded_packages` (koji_build only). */
export function subjectPackage(subject: Subject): string | undefined {
  return subject.type === "koji_build" ? nvrPackageName(subject.identifier) : undefined;
}

export function subjectKey(subject: Subject): string {
  return `${subject.type}\u0000${subject.identifier}`;
}

/** The deprecated `item` field of requirements, in the shape real Greenwave messages carry. */
export function subjectItem(subject: Subject): { type: string; item: string } {
  return { type: subject.type, item: subject.identifier };
}
