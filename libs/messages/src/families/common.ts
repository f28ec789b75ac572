import { z } from "zod";

/** A string that must carry a value: the CI templates ship `""` where a value is required. */
export const nonEmptyString = z.string().min(1, "must not be empty");

/** Python's `sorted(set(...))` over the present values, the way Fedora schemas build user and package lists. */
export function sortedUnique(values: Iterable<string | null | undefined>): string[] {
  const present = new Set<string>();
  for (const value of values) if (value) present.add(value);
  return [...present].sort();
}

/** Package name of an NVR, as bodhi-messages computes it (`nvr.rsplit("-", 2)[0]`). */
export function nvrPackageName(nvr: string): string {
  const parts = nvr.split("-");
  return parts.length >= 3 ? parts.slice(0, -2).join("-") : (parts[0] ?? nvr);
}

/** bodhi-messages' `truncate`: 40 characters then an ellipsis. */
export function truncate(text: string): string {
  return text.length >= 40 ? `${text.slice(0, 40)}…` : text;
}
