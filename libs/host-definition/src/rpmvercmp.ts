import type { Evr } from "./evr.js";

/** -1, 0 or 1, like rpm's comparison functions. */
export type Ordering = -1 | 0 | 1;

const isDigit = (c: string): boolean => c >= "0" && c <= "9";
const isAlpha = (c: string): boolean => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
const isSegmentChar = (c: string): boolean => isDigit(c) || isAlpha(c) || c === "~" || c === "^";

/**
 * Compare two version (or release) strings the way rpm's `rpmvercmp` does:
 * - the strings are cut into runs of digits and runs of ASCII letters; anything else only
 *   separates runs (so `1.0` equals `1_0`, and `1..0` equals `1.0`);
 * - digit runs compare as numbers (leading zeros ignored), letter runs as bytes
 *   (`A` < `a`), and a digit run is newer than a letter run;
 * - `~` sorts before everything, even the end of the string: `1.0~rc1` < `1.0`;
 * - `^` sorts after the end of the string but before any other run: `1.0` < `1.0^git1` < `1.0.1`;
 * - when all runs are equal, the string with runs left over is newer: `1.0` < `1.0a`.
 */
export function rpmvercmp(a: string, b: string): Ordering {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isSegmentChar(a.charAt(i))) i++;
    while (j < b.length && !isSegmentChar(b.charAt(j))) j++;
    const ca = a.charAt(i); // "" past the end
    const cb = b.charAt(j);

    if (ca === "~" || cb === "~") {
      if (ca !== "~") return 1;
      if (cb !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (ca === "^" || cb === "^") {
      // The end of a string (the base version) sorts before a `^` suffix.
      if (ca === "") return -1;
      if (cb === "") return 1;
      if (ca !== "^") return 1;
      if (cb !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (ca === "" || cb === "") break;

    const numeric = isDigit(ca);
    const inRun = numeric ? isDigit : isAlpha;
    const startA = i;
    const startB = j;
    while (i < a.length && inRun(a.charAt(i))) i++;
    while (j < b.length && inRun(b.charAt(j))) j++;
    // b has a run of the other kind here: a digit run is newer than a letter run.
    if (j === startB) return numeric ? 1 : -1;

    let runA = a.slice(startA, i);
    let runB = b.slice(startB, j);
    if (numeric) {
      runA = runA.replace(/^0+/, "");
      runB = runB.replace(/^0+/, "");
      if (runA.length !== runB.length) return runA.length > runB.length ? 1 : -1;
    }
    if (runA !== runB) return runA > runB ? 1 : -1;
  }
  const restA = i < a.length;
  const restB = j < b.length;
  if (!restA && !restB) return 0;
  return restA ? 1 : -1;
}

/** Compare two EVRs: epoch (absent counts as 0), then version, then release. */
export function compareEvr(a: Evr, b: Evr): Ordering {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea > eb ? 1 : -1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}
