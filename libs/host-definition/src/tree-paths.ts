import { posix } from "node:path";
import { hasControlCharacter, showValue } from "./errors.js";

/** Paths inside the composed tree, as treefiles name them. */

/** Why `path` may not be a path inside the composed tree (`remove-files`), or undefined. */
export function treePathProblem(path: string): string | undefined {
  if (hasControlCharacter(path)) return `${showValue(path)} contains a control character`;
  if (path.startsWith("/")) return `${showValue(path)} must be relative to the root of the tree (usr/..., etc/...)`;
  if (path.split("/").some((part) => part === ".." || part === ".") || posix.normalize(path) !== path || path.endsWith("/")) {
    return `${showValue(path)} must be a normalised path without . or ..`;
  }
  return undefined;
}

/** Why `dest` may not be an add-files destination: only /usr and /etc are ostree-managed. */
export function addFileDestProblem(dest: string): string | undefined {
  if (hasControlCharacter(dest)) return `${showValue(dest)} contains a control character`;
  if (!dest.startsWith("/")) return `${showValue(dest)} must be an absolute path`;
  if (posix.normalize(dest) !== dest || dest.endsWith("/") || dest.split("/").includes("..")) {
    return `${showValue(dest)} must be a normalised path (no //, . or .., no trailing /)`;
  }
  if (!dest.startsWith("/usr/") && !dest.startsWith("/etc/")) return `${showValue(dest)} must be under /usr or /etc (the only directories ostree manages)`;
  return undefined;
}
